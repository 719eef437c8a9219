using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>Runtime shutdown (§6.2): graceful drain, the budget, cancellation, and pending restarts.</summary>
public sealed class ShutdownTests
{
    private static readonly TimeSpan s_second = TimeSpan.FromSeconds(1);

    [Fact]
    [Trait("spec", "C-75")]
    public async Task C75_RunningTree_ShutdownFinalizesChildrenFirstAndIsClean()
    {
        // arrange: p (children c1, c2) and q, all running.
        await using var harness = new Harness();
        harness.Register("parent", w =>
        {
            w.InitialState = TestStates.NewIdle("parent-idle");
            w.Children = [Harness.Spec("c1", "leaf"), Harness.Spec("c2", "leaf")];
        });
        harness.Register("leaf", w => w.InitialState = TestStates.NewIdle("leaf-idle"));
        harness.Configure(Harness.Spec("p", "parent"), Harness.Spec("q", "leaf"));
        harness.Step(3);
        string[] paths = ["p", "p/c1", "p/c2", "q"];
        SupervisorNode[] nodes = [.. paths.Select(harness.Node)];
        Collector[] collectors = [.. nodes.Select(n => n.Collector!)];
        Assert.All(collectors, c => Assert.Equal(CollectorState.Running, c.State));

        // act
        ShutdownResult result = await harness.ShutdownManualAsync();

        // assert
        Assert.True(result.Clean);
        Assert.Empty(result.ForcedNodes);
        Assert.All(nodes, n => Assert.True(n.ShutdownRequested, n.Path));
        Assert.All(nodes, n => Assert.Equal(NodeLifecycle.Finalized, n.Lifecycle));
        Assert.All(collectors, c => Assert.Equal(CollectorState.Stopped, c.State));
        Assert.Empty(harness.Scheduler.Collectors);
        Assert.Equal(0, harness.Runtime.LiveWorkerCount);
        Assert.Equal(NodeLifecycle.Finalized, harness.Runtime.Root.Lifecycle);
        List<string?> removed = [.. harness.Events("node_removed").Select(r => r.Node())];
        Assert.Equal(4, removed.Count);
        Assert.True(removed.IndexOf("p/c1") < removed.IndexOf("p"), "p/c1 is finalized before p");
        Assert.True(removed.IndexOf("p/c2") < removed.IndexOf("p"), "p/c2 is finalized before p");
        Assert.Empty(harness.Events("shutdown_budget_exceeded"));
    }

    [Fact]
    [Trait("spec", "C-76")]
    public async Task C76_WorkerNeverFinishes_ReturnsAtBudgetWithRemainingNodesForced()
    {
        // arrange: "s" never finishes shutting down, "n" does at once.
        await using var harness = new Harness();
        harness.Register("stubborn", w => w.InitialState = TestStates.NewStubborn());
        harness.Register("normal", w => w.InitialState = TestStates.NewIdle());
        harness.Configure(Harness.Spec("s", "stubborn"), Harness.Spec("n", "normal"));
        harness.Step(2);
        SupervisorNode stubborn = harness.Node("s");
        Task<ShutdownResult> shutdown = harness.Runtime.ShutdownAsync();

        // act: ticks one second apart from the tick that applies the shutdown.
        harness.Step();
        for (int i = 0; i < 7; i++)
        {
            harness.AdvanceAndStep(s_second);
        }

        NodeLifecycle before = stubborn.Lifecycle;
        for (int i = 0; i < 20 && !shutdown.IsCompleted; i++)
        {
            harness.AdvanceAndStep(s_second);
        }

        ShutdownResult result = await Wait.For(shutdown, "the shutdown");

        // assert
        Assert.Equal(NodeLifecycle.Removing, before);
        Assert.False(result.Clean);
        Assert.Equal(TimeSpan.FromSeconds(8), result.Elapsed);
        Assert.Equal(["s"], result.ForcedNodes);
        Assert.Equal(NodeLifecycle.Finalized, stubborn.Lifecycle);
        Assert.Equal(CollectorState.Stopped, stubborn.Collector!.State);
        Assert.Equal(0, harness.Runtime.LiveWorkerCount);
        FakeLogRecord exceeded = Assert.Single(harness.Events("shutdown_budget_exceeded"));
        Assert.Equal(LogLevel.Error, exceeded.Level);
        Assert.Equal("s", exceeded.Field("Nodes"));
    }

    [Fact]
    [Trait("spec", "C-77")]
    public async Task C77_RunAsyncStoppingTokenCancelled_DrainsGracefullyWhileTicking()
    {
        // arrange: "w" needs three evaluations on its shutdown path before it signals NeedsRemoval.
        int stoppingEvaluations = 0;
        var stopping = new LambdaState("stopping", (self, in s) =>
            Interlocked.Increment(ref stoppingEvaluations) >= 3 ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self));
        var running = new LambdaState("running", (self, in s) => s.ShutdownRequested ? Transition.To(stopping) : Transition.To(self));
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = running);
        harness.Configure(Harness.Spec("w", "t"));
        using var stoppingToken = new CancellationTokenSource();
        Task<ShutdownResult> run = harness.Runtime.RunAsync(stoppingToken.Token);
        harness.TickOnTickThread(5);
        Assert.Equal("running", harness.Runtime.Status.Find("w")?.State);
        long ticksAtStop = harness.Runtime.TickCount;

        // act
        await stoppingToken.CancelAsync();
        ShutdownResult result = await harness.TickUntilAsync(run, "RunAsync to return after the drain");

        // assert
        Assert.True(result.Clean);
        Assert.Equal(3, Volatile.Read(ref stoppingEvaluations));
        Assert.True(harness.Runtime.TickCount - ticksAtStop >= 3, "ticks continued during the drain");
        Assert.True(harness.Runtime.Completion.IsCompletedSuccessfully);
        Assert.Single(harness.Events("node_removed"), r => r.Node() == "w");
    }

    [Fact]
    [Trait("spec", "C-77")]
    public async Task C77_ShutdownTokenCancelled_RemainderForceFinalizedAtOnce()
    {
        // arrange
        await using var harness = new Harness();
        harness.Register("stubborn", w => w.InitialState = TestStates.NewStubborn());
        harness.Configure(Harness.Spec("s", "stubborn"));
        harness.Step(2);
        using var cts = new CancellationTokenSource();
        Task<ShutdownResult> shutdown = harness.Runtime.ShutdownAsync(cts.Token);
        harness.AdvanceAndStep(s_second);
        Assert.Equal(NodeLifecycle.Removing, harness.Runtime.Root.GetRemovingChild("s")?.Lifecycle);

        // act
        await cts.CancelAsync();
        harness.Step();
        ShutdownResult result = await Wait.For(shutdown, "the forced shutdown");

        // assert
        Assert.False(result.Clean);
        Assert.Equal(["s"], result.ForcedNodes);
        Assert.Equal(TimeSpan.Zero, result.Elapsed);
        Assert.Equal(0, harness.Runtime.LiveWorkerCount);
        Assert.Single(harness.Events("shutdown_budget_exceeded"));
    }

    [Fact]
    [Trait("spec", "C-78")]
    public async Task C78_RestartPendingWhenRuntimeShutsDown_WorkerNotRecreated()
    {
        // arrange: "w" asks for a restart, then its shutdown path waits until the test releases it.
        bool release = false;
        var stopping = new LambdaState("stopping", (self, in s) =>
            Volatile.Read(ref release) ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self));
        var running = new LambdaState("running", (self, in s) =>
            s.ShutdownRequested ? Transition.To(stopping) : Transition.Emit(self, Signal.NeedsRestart));
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = running);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(3);
        SupervisorNode node = harness.Node("w");
        Assert.Equal(ShutdownReason.RestartRequested, node.ShutdownReason);
        Assert.Equal("stopping", node.CurrentStateName);
        Task<ShutdownResult> shutdown = harness.Runtime.ShutdownAsync();
        harness.Step();

        // act
        Volatile.Write(ref release, true);
        harness.Step();
        ShutdownResult result = await Wait.For(shutdown, "the shutdown");

        // assert
        Assert.True(result.Clean);
        Assert.Single(harness.AllWorkers);
        Assert.Equal(0, node.Incarnation);
        Assert.Equal(NodeLifecycle.Finalized, node.Lifecycle);
        Assert.Empty(harness.Events("node_restart"));
        Assert.Equal(0, harness.Runtime.LiveWorkerCount);
    }

    [Fact]
    [Trait("spec", "C-75")]
    public async Task ShutdownAsync_CalledTwice_ReturnsTheSameTask()
    {
        // arrange
        await using var harness = new Harness();
        harness.Register("t");
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(2);

        // act
        Task<ShutdownResult> first = harness.Runtime.ShutdownAsync();
        Task<ShutdownResult> second = harness.Runtime.ShutdownAsync();
        harness.Step();

        // assert
        Assert.Same(first, second);
        Assert.True((await Wait.For(first, "the shutdown")).Clean);
    }
}
