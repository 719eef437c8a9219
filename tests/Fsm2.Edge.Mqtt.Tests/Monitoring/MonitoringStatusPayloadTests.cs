using System.Buffers;
using System.Text.Json;
using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>The complete §6.3 node status, the §6.2 heartbeat tree, and the E-31 status lifecycle, on the in-memory double
/// and a fake clock (shared/spec/50-runtime-monitoring.md §6.2, §6.3, §6.7; 60-scenarios E-31; 30-supervision S-41).</summary>
public sealed class MonitoringStatusPayloadTests
{
    private static readonly string[] s_statusKeys =
    [
        "node", "name", "type", "state", "phase", "desired", "lifecycle", "reason", "since", "mode", "frozenBy", "breaker",
        "panicBreaker", "collector", "lastError", "action", "ticks", "children", "observed", "runtime", "ts",
    ];

    private static readonly string[] s_leaves = ["p0/w0", "p0/w1"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("spec", "E-31")]
    public async Task E31_StatusLifecycle_LateObserver_ChangesRateLimited_Refresh_RemovalCleared_ShutdownKeepsFinal()
    {
        // arrange: p0 (p0/w0, p0/w1), leaves b and c; refresh every 2 s as in E-31.
        await using var f = new MonitoringFixture(o => new MonitoringOptions
        {
            RuntimeId = o.RuntimeId,
            TopicPrefix = o.TopicPrefix,
            StatusMinInterval = TimeSpan.FromSeconds(1),
            StatusRefreshInterval = TimeSpan.FromSeconds(2),
        });
        f.Runtime.SetConfiguration([.. f.Top, MonitoringFixture.Leaf("b"), MonitoringFixture.Leaf("c")]);
        f.Publisher.Start();
        f.TickUntilAllRunning(5);
        f.Advance(TimeSpan.FromSeconds(1));

        // act 1: a late observer.
        await using InMemoryEdgeMqtt late = f.Broker.Connect("late");
        var retained = new RecordingHandler();
        using (late.Route($"{f.Prefix}/status/#", EdgeQos.AtLeastOnce, retained))
        {
            // assert 1: one retained status per live node, each with the complete §6.3 key set.
            Assert.Equal(["b", "c", "p0", "p0/w0", "p0/w1"], retained.Messages.Select(m => m.Topic[($"{f.Prefix}/status/".Length)..]).Order(StringComparer.Ordinal));
            Assert.All(retained.Messages, m => Assert.True(m.Retained));
            Assert.All(retained.Messages, m => Assert.All(s_statusKeys, k => Assert.True(MonitoringFixture.Json(m).TryGetProperty(k, out _), $"{m.Topic} lacks {k}")));
        }

        // act 2: b is stopped (desired, state and reason change within a few ticks); quiet time for refreshes.
        string bTopic = $"{f.Prefix}/status/b";
        int bBefore = f.Seen.On(bTopic).Count;
        f.Runtime.SetDesiredStateOverride("b", "stopped");
        f.TickUntil(s => s.Find("b")?.State == "stopped", "b to stop");
        f.Advance(TimeSpan.FromSeconds(1));
        int w0Before = f.Seen.On($"{f.Prefix}/status/p0/w0").Count;
        f.Advance(TimeSpan.FromSeconds(6));

        // assert 2: the last publication of b carries the final state; the unchanged node was refreshed about every 2 s.
        JsonElement lastB = MonitoringFixture.Json(f.Seen.On(bTopic)[^1]);
        Assert.Equal("stopped", lastB.GetProperty("state").GetString());
        Assert.Equal("stopped", lastB.GetProperty("phase").GetString());
        Assert.Equal("stopped", lastB.GetProperty("desired").GetString());
        Assert.True(f.Seen.On(bTopic).Count > bBefore);
        Assert.InRange(f.Seen.On($"{f.Prefix}/status/p0/w0").Count - w0Before, 2, 4);

        // act 3: c is removed by a reload.
        f.Runtime.SetConfiguration([.. f.Top, MonitoringFixture.Leaf("b")]);
        f.TickUntil(s => s.Find("c") is null, "c to be finalized");
        f.Advance(TimeSpan.FromSeconds(1));

        // assert 3: a zero-length retained message after finalization clears c.
        Assert.Empty(f.Seen.On($"{f.Prefix}/status/c")[^1].Payload);
        Assert.Null(f.Broker.Retained($"{f.Prefix}/status/c"));

        // act 4: the runtime shuts down.
        f.Publisher.MarkStopping();
        Task<ShutdownResult> drain = f.Runtime.ShutdownAsync(Ct);
        var lastStates = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < 500 && !drain.IsCompleted; i++)
        {
            // One publisher poll per tick, so the publisher sees every status the tree publishes.
            f.Advance(f.Options.PollInterval);
            Wait.Until(() => f.Runtime.OutstandingActions == 0, "actions to complete");
            f.Step();
            foreach (NodeStatus node in f.Runtime.Status.Nodes)
            {
                lastStates[node.Path] = node.State;
            }
        }

        f.Advance(f.Options.PollInterval);
        await f.Publisher.StopAsync(clean: (await drain).Clean, Ct);

        // assert 4: the remaining nodes keep their final retained status: the last state the tree reported for them.
        Assert.Equal(
            [$"{f.Prefix}/status/b", $"{f.Prefix}/status/p0", $"{f.Prefix}/status/p0/w0", $"{f.Prefix}/status/p0/w1"],
            f.Broker.RetainedTopics($"{f.Prefix}/status/#"));
        JsonElement finalW0 = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/status/p0/w0")!).RootElement;
        Assert.Equal(lastStates["p0/w0"], finalW0.GetProperty("state").GetString());
        Assert.Equal("stopped", lastStates["p0/w0"]);
        Assert.Equal("stopped", JsonDocument.Parse(f.Broker.Retained(bTopic)!).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    [Trait("spec", "S-41")]
    [Trait("spec", "E-31")]
    public async Task S41_OpenBreaker_StatusShowsAttemptLabelCausesNextTrial_DescendantsHealthOnlyFrozenBy_HeartbeatCounts()
    {
        // arrange: p0 carries a probe whose every run is refused; no jitter, so the next trial is one base delay away.
        await using var f = new MonitoringFixture(runtimeOptions: new RuntimeOptions { ShutdownBudget = TimeSpan.FromHours(1), BreakerJitter = 0 });
        f.Runtime.Probes.Register("refused", (spec, _) => new RefusedProbe(spec.Id));
        ChildSpec p0 = f.Top[0] with { Probes = [new ProbeSpec("refused", "p0-probe", "refused:1", TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(100))] };
        f.Runtime.SetConfiguration([p0]);
        f.Publisher.Start();

        // act
        f.TickUntil(s => s.Find("p0")?.Breaker.State == BreakerState.Open && s.Find("p0/w1")?.Mode == NodeMode.HealthOnly, "p0 to open");
        f.Advance(TimeSpan.FromSeconds(1.2));
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromMilliseconds(200));

        // assert: the open node's breaker, as 30-supervision §12 lists it.
        JsonElement parent = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/status/p0")!).RootElement;
        JsonElement breaker = parent.GetProperty("breaker");
        Assert.Equal("open", breaker.GetProperty("state").GetString());
        Assert.True(breaker.GetProperty("attempt").GetInt32() >= 1);
        Assert.Equal("attempting_recovery", breaker.GetProperty("label").GetString());
        Assert.Equal(["ProbeFailed(p0-probe)"], breaker.GetProperty("causes").EnumerateArray().Select(c => c.GetString()));
        Assert.InRange(breaker.GetProperty("nextTrialInMs").GetDouble(), 0, 60_000);
        Assert.Equal(JsonValueKind.String, breaker.GetProperty("openSince").ValueKind);
        Assert.Equal("health-only", parent.GetProperty("mode").GetString());
        Assert.Equal("p0", parent.GetProperty("frozenBy").GetString());

        // assert: its descendants are frozen by it, their own breakers closed.
        foreach (string child in s_leaves)
        {
            JsonElement status = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/status/{child}")!).RootElement;
            Assert.Equal("health-only", status.GetProperty("mode").GetString());
            Assert.Equal("p0", status.GetProperty("frozenBy").GetString());
            Assert.Equal("closed", status.GetProperty("breaker").GetProperty("state").GetString());
            Assert.Equal(JsonValueKind.Null, status.GetProperty("breaker").GetProperty("nextTrialInMs").ValueKind);
        }

        // assert: the heartbeat's tree counts the open breaker and the frozen nodes (§9.3).
        JsonElement tree = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/runtime/state")!).RootElement.GetProperty("tree");
        Assert.Equal(3, tree.GetProperty("nodes").GetInt32());
        Assert.Equal(1, tree.GetProperty("breakersOpen").GetInt32());
        Assert.Equal(3, tree.GetProperty("frozen").GetInt32());
        Assert.Equal(0, tree.GetProperty("stale").GetInt32());
    }

    [Fact]
    [Trait("spec", "E-31")]
    public async Task Status_FullPayload_PhaseModeTicksCollectorPanicBreaker_FromTheModel()
    {
        // arrange
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.Publisher.Start();
        f.TickUntilAllRunning(3);
        for (int i = 0; i < 5; i++)
        {
            f.Step();
        }

        // act: a refresh republishes with the tick counters of now.
        f.Advance(TimeSpan.FromSeconds(31));

        // assert
        JsonElement leaf = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/status/p0/w0")!).RootElement;
        Assert.Equal("running", leaf.GetProperty("state").GetString());
        Assert.Equal("running", leaf.GetProperty("phase").GetString());
        Assert.Equal("full", leaf.GetProperty("mode").GetString());
        Assert.Equal(JsonValueKind.Null, leaf.GetProperty("frozenBy").ValueKind);
        Assert.Equal(JsonValueKind.Null, leaf.GetProperty("action").ValueKind);
        JsonElement ticks = leaf.GetProperty("ticks");
        long nodeTicks = f.Runtime.FindNode("p0/w0")!.TickCount;
        Assert.Equal(nodeTicks, ticks.GetProperty("count").GetInt64());
        Assert.True(nodeTicks >= 5);
        Assert.True(ticks.GetProperty("maxUs").GetDouble() >= ticks.GetProperty("lastUs").GetDouble());
        JsonElement panic = leaf.GetProperty("panicBreaker");
        Assert.False(panic.GetProperty("open").GetBoolean());
        Assert.Equal(0, panic.GetProperty("panicsInWindow").GetInt32());
        JsonElement collector = leaf.GetProperty("collector");
        Assert.False(collector.GetProperty("dead").GetBoolean());
        Assert.Equal(0, collector.GetProperty("restarts").GetInt32());
        Assert.True(collector.GetProperty("ageMs").GetDouble() >= 0);
        DateTimeOffset since = leaf.GetProperty("since").GetDateTimeOffset();
        Assert.Equal(f.Runtime.Status.Find("p0/w0")!.StateSince, since, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    [Trait("spec", "50-6.3")]
    public async Task Status_CollectorAgeMs_NeverObservedRunsFromTheCollectorStart_ThenFromTheNewestObservation()
    {
        // arrange: the tree ticks but no collection runs, so no node has an observation yet.
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.Time.Advance(TimeSpan.FromMilliseconds(100));
        DateTimeOffset firstTick = f.Time.GetUtcNow();
        for (int i = 0; i < 5; i++)
        {
            f.Runtime.TickOnce();
            f.Time.Advance(TimeSpan.FromMilliseconds(100));
        }

        NodeStatus p0 = f.Runtime.Status.Find("p0")!;

        // act 1: a status of the never-observed node, 12.3 s later.
        DateTimeOffset ts = f.Time.GetUtcNow() + TimeSpan.FromSeconds(12.3);
        JsonElement neverObserved = Collector(p0, ts);

        // assert 1: 10-core-hierarchy §5.2: the age runs from the collector's start (p0's first tick published its desired state).
        Assert.Null(p0.Ticks!.ObservedAt);
        Assert.Equal(firstTick, p0.Ticks.CollectorStartedAt);
        Assert.Equal(12_800, neverObserved.GetProperty("ageMs").GetDouble());

        // act 2: collections run until a tick has read p0's first observation.
        f.TickUntil(s => s.Find("p0")?.Ticks?.ObservedAt is not null, "p0's first observation");
        DateTimeOffset collectedAt = p0.Ticks.ObservedAt!.Value;
        DateTimeOffset ts2 = f.Time.GetUtcNow() + TimeSpan.FromMilliseconds(450);
        JsonElement observed = Collector(f.Runtime.Status.Find("p0")!, ts2);

        // assert 2: from then on the age runs from the newest observation's collection, not from the collector's start.
        Assert.True(collectedAt > firstTick);
        Assert.Equal(Math.Round((ts2 - collectedAt).TotalMilliseconds), observed.GetProperty("ageMs").GetDouble());
        Assert.True(observed.GetProperty("ageMs").GetDouble() < (ts2 - firstTick).TotalMilliseconds);

        // a status not built by a runtime (no collector ever started) has no age.
        var detached = new NodeStatus("x", "t", "running", "", "", NodeLifecycle.Active, false, null, [], 0);
        Assert.Equal(JsonValueKind.Null, Collector(detached, ts2).GetProperty("ageMs").ValueKind);

        static JsonElement Collector(NodeStatus node, DateTimeOffset ts)
        {
            var buffer = new ArrayBufferWriter<byte>();
            MonitoringJson.WriteNodeStatus(buffer, node, node.StateSince, 1, "gw-test", ts);
            return JsonDocument.Parse(buffer.WrittenMemory).RootElement.GetProperty("collector").Clone();
        }
    }

    [Fact]
    public async Task Status_ActionInFlight_ShowsNameStartedAtElapsedAttempt()
    {
        // arrange: simulated processes start stopped, so every leaf emits start-process.
        await using var f = new MonitoringFixture(startedInitially: false);
        f.Runtime.SetConfiguration(f.Top);
        NodeStatus? acting = null;

        // act: the tick that enqueues publishes the action (its completion is applied at the start of a later tick).
        for (int i = 0; i < 50 && acting is null; i++)
        {
            f.Time.Advance(TimeSpan.FromMilliseconds(100));
            f.Step();
            acting = f.Runtime.Status.Nodes.FirstOrDefault(n => n.Action is not null);
        }

        Assert.NotNull(acting);
        var buffer = new ArrayBufferWriter<byte>();
        DateTimeOffset ts = f.Time.GetUtcNow() + TimeSpan.FromMilliseconds(120);
        MonitoringJson.WriteNodeStatus(buffer, acting, acting.StateSince, 1, "gw-test", ts);

        // assert
        JsonElement action = JsonDocument.Parse(buffer.WrittenMemory).RootElement.GetProperty("action");
        Assert.Equal("start-process", action.GetProperty("name").GetString());
        Assert.Equal(acting.Action!.StartedAt, action.GetProperty("startedAt").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
        Assert.Equal((ts - acting.Action.StartedAt).TotalMilliseconds, action.GetProperty("elapsedMs").GetDouble(), 1.0);
        Assert.Equal(1, action.GetProperty("attempt").GetInt32());
        Assert.Equal("starting", acting.Phase);
    }

    [Theory]
    [InlineData("stopped", "stopped")]
    [InlineData("", "stopped")]
    [InlineData("trying_to_subscribe", "starting")]
    [InlineData("trying_to_start", "starting")]
    [InlineData("probing", "starting")]
    [InlineData("starting", "starting")]
    [InlineData("active", "running")]
    [InlineData("running", "running")]
    [InlineData("degraded", "degraded")]
    [InlineData("stopping", "stopping")]
    [InlineData("trying_to_unsubscribe", "stopping")]
    [InlineData("trying_to_stop", "stopping")]
    [InlineData("trying_to_disconnect", "stopping")]
    public void Phase_OfThePackStates_FollowsTheirDeclaredPhase(string state, string phase) => Assert.Equal(phase, StatePhases.Of(state));

    /// <summary>A probe whose every run is refused, completing synchronously.</summary>
    private sealed class RefusedProbe(string id) : IInfrastructureProbe
    {
        public string Id { get; } = id;

        public TimeSpan Interval => TimeSpan.FromMilliseconds(200);

        public TimeSpan Timeout => TimeSpan.FromMilliseconds(100);

        public ValueTask<ProbeOutcome> RunAsync(CancellationToken cancellationToken) => ValueTask.FromResult(ProbeOutcome.Refused);
    }
}
