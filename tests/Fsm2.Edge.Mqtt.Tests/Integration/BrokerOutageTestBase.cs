using System.Globalization;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Health;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Mqtt.Tests.Integration;

/// <summary>The broker-outage tests share one process-wide action counter and a real clock: they run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrokerOutageGroup
{
    /// <summary>The collection name.</summary>
    public const string Name = "broker-outage";
}

/// <summary>
/// Broker outage and recovery end to end (shared/spec/60-scenarios.md E-18, with E-10 and A-27; 30-supervision §4–§7,
/// §10.2): a real runtime on the system clock, a real <c>mqtt</c> probe over real TCP, a real broker stopped and
/// restarted on the same port. Runs against mosquitto (<see cref="BrokerOutageMosquittoTests"/>) and the embedded
/// broker (<see cref="BrokerOutageEmbeddedTests"/>). Every wait is on an event or condition with a timeout.
/// </summary>
[Collection(BrokerOutageGroup.Name)]
public abstract class BrokerOutageTestBase(ITestOutputHelper output)
{
    // E-18 allows 4 s from SIGTERM to breaker_opened (mosquitto needs up to 1-2 s to exit); with a 250 ms probe
    // interval the expected figure is well under 1 s.
    private static readonly TimeSpan s_openBound = TimeSpan.FromSeconds(4);

    // After the port accepts again: the next probe run (≤ 275 ms) plus the next trial (≤ 1.2 s at the 1 s cap) plus one
    // tick; 5 s leaves room for a loaded 2-core machine.
    private static readonly TimeSpan s_closeBound = TimeSpan.FromSeconds(5);

    /// <summary>Starts this class's broker.</summary>
    protected abstract Task<ITestBroker> StartBrokerAsync();

    /// <summary>The probe target that reaches <paramref name="broker"/>.</summary>
    protected abstract string ProbeTarget(ITestBroker broker);

    /// <summary>The runtime's embedded broker, when the broker under test is one.</summary>
    protected abstract EmbeddedBroker? EmbeddedOf(ITestBroker broker);

    [Fact]
    [Trait("spec", "S-37")]
    [Trait("spec", "E-18")]
    public async Task S37_ProbeHealthy_BreakerClosed_ChildrenEnqueueAndRunActions()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        await using OutageScene scene = OutageScene.Start(ProbeTarget(broker), EmbeddedOf(broker));

        // act: the probe's first successful round trip, then some work.
        _ = await scene.WaitForAsync("probe_run", $"probe={OutageScene.ProbeId}", 0, "a probe run", TimeSpan.FromSeconds(10));
        LoggedEvent success = await scene.Events.WaitForAsync(
            e => e.Name == "probe_run" && e.Message.Contains("outcome=success", StringComparison.Ordinal), "a successful probe run");
        Wait.Until(() => OutageScene.Cells.All(c => scene.Cell(c).Emitted >= 5) && scene.Ledger.Executions >= 10, "both cells to run work");
        await Wait.For(scene.Hold.Started.Task.ContinueWith(_ => true, TaskScheduler.Default), "the holder's action to start");

        // assert
        Assert.Contains($"probe={OutageScene.ProbeId} ", success.Message, StringComparison.Ordinal);
        NodeStatus line = scene.Node(OutageScene.Line);
        Assert.Equal(BreakerState.Closed, line.Breaker.State);
        Assert.Equal(NodeMode.Full, line.Mode);
        Assert.Null(line.LastError);
        Assert.All(OutageScene.Children, c => Assert.Equal(NodeMode.Full, scene.Node(c).Mode));
        Assert.DoesNotContain(scene.Events.Snapshot(), e => e.Name == "breaker_opened");
        Assert.True(scene.QueuedTotal >= scene.Ledger.Executions, "every executed action was enqueued");
    }

    [Fact]
    [Trait("spec", "E-18")]
    [Trait("spec", "E-10")]
    [Trait("spec", "A-27")]
    public async Task E18_BrokerStopped_BreakerOpensChildrenKeepStateNoEnqueues_RestartedOnSamePort_ClosesEveryActionRunsOnce()
    {
        // arrange: healthy, work flowing, the holder's action in flight.
        await using ITestBroker broker = await StartBrokerAsync();
        int port = broker.Port;
        await using OutageScene scene = OutageScene.Start(ProbeTarget(broker), EmbeddedOf(broker));
        _ = await scene.Events.WaitForAsync(
            e => e.Name == "probe_run" && e.Message.Contains("outcome=success", StringComparison.Ordinal), "a successful probe run");
        Wait.Until(() => OutageScene.Cells.All(c => scene.Cell(c).Emitted >= 5), "both cells to run work");
        await Wait.For(scene.Hold.Started.Task.ContinueWith(_ => true, TaskScheduler.Default), "the holder's action to start");
        int created = scene.WorkersCreated;
        Dictionary<string, string> states = OutageScene.Children.ToDictionary(c => c, c => scene.Node(c).State);

        // act 1: the broker goes away.
        long lossAt = TimeProvider.System.GetTimestamp();
        await broker.StopAsync();
        long stoppedAt = TimeProvider.System.GetTimestamp();
        LoggedEvent opened = await scene.WaitForAsync("breaker_opened", $"node={OutageScene.Line}", lossAt, "line's breaker to open");
        Wait.Until(() => scene.Node(OutageScene.Line).Breaker.State == BreakerState.Open, "the open breaker in the status");

        // assert 1: open at once on Disconnected (fewer runs than the miss threshold), with the probe as the cause.
        TimeSpan lossToOpen = TimeProvider.System.GetElapsedTime(lossAt, opened.Timestamp);
        // mosquitto's exit takes ~0.1 s, during which a run may still succeed: count the failed runs since the stop request.
        List<LoggedEvent> runsToOpen = scene.ProbeRuns(lossAt, opened.Timestamp)
            .Where(e => !e.Message.Contains("outcome=success", StringComparison.Ordinal)).ToList();
        Assert.InRange(lossToOpen, TimeSpan.Zero, s_openBound);
        Assert.NotEmpty(runsToOpen);
        Assert.True(runsToOpen.Count < OutageScene.Options.ProbeMissThreshold, $"opened after {runsToOpen.Count} failed runs");
        Assert.Contains("outcome=disconnected", runsToOpen[^1].Message, StringComparison.Ordinal);
        Assert.Contains($"ProbeFailed({OutageScene.ProbeId})", opened.Message, StringComparison.Ordinal);
        Assert.Contains($"ProbeFailed({OutageScene.ProbeId})", scene.Node(OutageScene.Line).Breaker.Causes);
        Wait.Until(() => OutageScene.Children.All(c => scene.Node(c).Mode == NodeMode.HealthOnly), "children frozen");
        long queuedWhileOpen = scene.QueuedTotal;
        Dictionary<string, long> calls = OutageScene.Cells.ToDictionary(c => c, c => scene.Cell(c).Calls);
        Dictionary<string, long> collections = OutageScene.Children.ToDictionary(c => c, c => scene.Worker(c).Collections);

        // act 2: while open, trials fail on the schedule and the held action completes.
        _ = await scene.WaitForAsync("breaker_trial_failed", $"node={OutageScene.Line}", opened.Timestamp, "a failed trial");
        scene.Hold.Release();
        await Wait.For(scene.Hold.Ended.Task.ContinueWith(_ => true, TaskScheduler.Default), "the held action to end");
        Wait.Until(() => scene.Runtime.OutstandingActions == 0, "the held action's completion to be queued back");
        long drained = TimeProvider.System.GetTimestamp();
        LoggedEvent laterTrial = await scene.WaitForAsync("breaker_trial_failed", $"node={OutageScene.Line}", drained, "a failed trial after the completion");

        // assert 2: nothing enqueued, no Next, no restart or removal, state kept, collectors running, action not cancelled.
        Assert.Equal(BreakerState.Open, scene.Node(OutageScene.Line).Breaker.State);
        Assert.Equal(queuedWhileOpen, scene.QueuedTotal);
        Assert.All(OutageScene.Cells, c => Assert.Equal(calls[c], scene.Cell(c).Calls));
        Assert.All(OutageScene.Children, c => Assert.True(scene.Worker(c).Collections > collections[c], $"{c}'s collector ran while frozen"));
        Assert.Equal(created, scene.WorkersCreated);
        Assert.All(OutageScene.Children, c =>
        {
            NodeStatus child = scene.Node(c);
            Assert.Equal(states[c], child.State);
            Assert.Equal(NodeLifecycle.Active, child.Lifecycle);
            Assert.Equal(0, child.Restarts);
            Assert.Equal(OutageScene.Line, child.FrozenBy);
        });
        Assert.False(scene.Hold.WasCancelled);
        Assert.Contains("attempt=", laterTrial.Message, StringComparison.Ordinal);

        // act 3: the broker returns on the same port.
        long returnAt = TimeProvider.System.GetTimestamp();
        await broker.RestartAsync();
        long acceptingAt = TimeProvider.System.GetTimestamp();
        LoggedEvent closed = await scene.WaitForAsync("breaker_closed", $"node={OutageScene.Line}", returnAt, "line's breaker to close");
        TimeSpan returnToClosed = TimeProvider.System.GetElapsedTime(acceptingAt, closed.Timestamp);
        LoggedEvent healthyAgain = scene.ProbeRuns(acceptingAt, closed.Timestamp)
            .First(e => e.Message.Contains("outcome=success", StringComparison.Ordinal));
        TimeSpan returnToHealthy = TimeProvider.System.GetElapsedTime(acceptingAt, healthyAgain.Timestamp);
        long queuedAtClose = scene.QueuedTotal;
        Wait.Until(() => OutageScene.Cells.All(c => scene.Cell(c).Calls > calls[c] + 5) && scene.QueuedTotal >= queuedAtClose + 10, "work to resume");
        Wait.Until(() => scene.HolderState.SeenKind == "hold", "the holder to see its completion");
        scene.Quiesce();

        // assert 3: closed, full mode again, every issued work item run exactly once, enqueues match executions.
        Assert.Equal(port, broker.Port);
        Assert.InRange(returnToClosed, TimeSpan.Zero, s_closeBound);
        Assert.Equal(BreakerState.Closed, scene.Node(OutageScene.Line).Breaker.State);
        Assert.All(OutageScene.Children, c => Assert.Equal(NodeMode.Full, scene.Node(c).Mode));
        Assert.Equal((int)ActionOutcome.Success, scene.HolderState.SeenOutcome);
        Assert.Equal(created, scene.WorkersCreated);
        Assert.All(scene.Ledger.Runs, run => Assert.Equal(1, run.Value));
        Assert.Equal(scene.Ledger.Issued, scene.Ledger.Runs.Count);
        Assert.Equal(scene.Ledger.Issued, scene.Ledger.Runs.Keys.Max());
        Assert.Equal(scene.Ledger.Executions + 1, scene.QueuedTotal); // + the holder's one action

        // measured: reported in the test output.
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"broker={broker.Name} stop_ms={TimeProvider.System.GetElapsedTime(lossAt, stoppedAt).TotalMilliseconds:F0} " +
            $"loss_to_open_ms={lossToOpen.TotalMilliseconds:F0} runs_to_open={runsToOpen.Count} " +
            $"restart_ms={TimeProvider.System.GetElapsedTime(returnAt, acceptingAt).TotalMilliseconds:F0} " +
            $"return_to_probe_success_ms={returnToHealthy.TotalMilliseconds:F0} return_to_closed_ms={returnToClosed.TotalMilliseconds:F0} " +
            $"work_items={scene.Ledger.Issued}"));
    }
}

/// <summary>Broker outage and recovery against Debian's mosquitto (skipped outside CI when missing; failed in CI).</summary>
public sealed class BrokerOutageMosquittoTests(ITestOutputHelper output) : BrokerOutageTestBase(output)
{
    /// <inheritdoc/>
    protected override Task<ITestBroker> StartBrokerAsync() => Task.FromResult<ITestBroker>(MosquittoTestBroker.Start());

    /// <inheritdoc/>
    protected override string ProbeTarget(ITestBroker broker) => broker.Endpoint.ToString();

    /// <inheritdoc/>
    protected override EmbeddedBroker? EmbeddedOf(ITestBroker broker) => null;
}

/// <summary>Broker outage and recovery against the embedded MQTTnet broker, probed through the target <c>embedded</c>.</summary>
public sealed class BrokerOutageEmbeddedTests(ITestOutputHelper output) : BrokerOutageTestBase(output)
{
    /// <inheritdoc/>
    protected override async Task<ITestBroker> StartBrokerAsync() => await EmbeddedTestBroker.StartAsync();

    /// <inheritdoc/>
    protected override string ProbeTarget(ITestBroker broker) => "embedded";

    /// <inheritdoc/>
    protected override EmbeddedBroker? EmbeddedOf(ITestBroker broker) => ((EmbeddedTestBroker)broker).Broker;
}
