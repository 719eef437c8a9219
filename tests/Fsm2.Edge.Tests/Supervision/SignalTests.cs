using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>
/// Worker signals (§2.8): NeedsRemoval on a declared worker (self-removal and re-creation, §11.2) and NeedsRestart
/// (a fresh worker instance in the same node, with its 30 s fallback, §11.3).
/// </summary>
public sealed class SignalTests
{
    private static readonly TimeSpan s_second = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Registers type "t": the first instance observes value 1, later instances 0. <paramref name="onFirst"/> is what
    /// a worker does when it observes 1; on shutdown it signals NeedsRemoval at once.
    /// </summary>
    private static LambdaState RegisterSignalling(Harness harness, Signal onFirst)
    {
        int created = 0;
        var state = new LambdaState("initial", (self, in s) =>
        {
            if (s.ShutdownRequested)
            {
                return Transition.Emit(self, Signal.NeedsRemoval);
            }

            return s.Observed.Value == 1 ? Transition.Emit(self, onFirst) : Transition.To(self);
        });
        harness.Register("t", w =>
        {
            w.InitialState = state;
            w.NextObservation = new TestObserved(Interlocked.Increment(ref created) == 1 ? 1 : 0);
        });
        return state;
    }

    [Fact]
    public async Task Tick_DeclaredTopLevelSignalsNeedsRemoval_SelfRemovedThenRecreated()
    {
        // arrange
        await using var harness = new Harness();
        RegisterSignalling(harness, Signal.NeedsRemoval);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step();
        SupervisorNode first = harness.Node("w");
        Collector firstCollector = first.Collector!;

        // act 1: the worker signals NeedsRemoval while still declared.
        harness.Step();

        // assert 1: finalized in that tick (no children), reason SelfRemoved.
        Assert.Equal(NodeLifecycle.Finalized, first.Lifecycle);
        Assert.Equal(ShutdownReason.SelfRemoved, first.ShutdownReason);
        Assert.True(first.WorkerDone);
        Assert.Equal(CollectorState.Stopped, firstCollector.State);
        Assert.Null(harness.Runtime.FindNode("w"));
        Assert.Empty(harness.Runtime.Root.ListChildren());

        // act 2: the next reconcile creates a fresh node for the still-declared name.
        harness.Step();
        harness.Step();

        // assert 2
        SupervisorNode second = harness.Node("w");
        Assert.NotSame(first, second);
        Assert.Equal(2, harness.AllWorkers.Count);
        Assert.NotSame(harness.AllWorkers[0], harness.AllWorkers[1]);
        Assert.Equal(NodeLifecycle.Active, second.Lifecycle);
        Assert.False(second.ShutdownRequested);
        Assert.Equal("initial", second.CurrentStateName);
        Assert.Equal(CollectorState.Running, second.Collector!.State);
        Assert.Equal(["w"], harness.Runtime.Root.ListChildren());
        Assert.Equal(1, harness.Runtime.LiveWorkerCount);
        Assert.Single(harness.Events("node_restart"), r => r.Node() == "w" && r.Field("Reason") == "self_removed" && r.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task Tick_NeedsRestartThenNeedsRemoval_SameNodeGetsFreshWorkerInstance()
    {
        // arrange
        await using var harness = new Harness();
        LambdaState state = RegisterSignalling(harness, Signal.NeedsRestart);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step();
        SupervisorNode node = harness.Node("w");
        Collector firstCollector = node.Collector!;

        // act 1: NeedsRestart.
        harness.Step();

        // assert 1: the worker shuts down; the node stays active and declared.
        Assert.True(node.ShutdownRequested);
        Assert.Equal(ShutdownReason.RestartRequested, node.ShutdownReason);
        Assert.Equal(NodeLifecycle.Active, node.Lifecycle);
        Assert.True(((DesiredState<string>)node.Desired!).ShutdownRequested);

        // act 2: the shutdown path signals NeedsRemoval; the node gets a fresh instance.
        harness.Step();

        // assert 2
        Assert.Same(node, harness.Node("w"));
        Assert.Equal(NodeLifecycle.Active, node.Lifecycle);
        Assert.Equal(2, harness.AllWorkers.Count);
        Assert.Same(harness.AllWorkers[1], harness.Workers["w"]);
        Assert.Equal(1, node.Incarnation);
        Assert.False(node.ShutdownRequested);
        Assert.False(node.WorkerDone);
        Assert.Equal("initial", node.CurrentStateName);
        Assert.Equal(CollectorState.Stopped, firstCollector.State);
        Assert.NotSame(firstCollector, node.Collector);
        Assert.Single(harness.Events("node_restart"), r => r.Node() == "w" && r.Field("Reason") == "restart_requested");

        // act 3: the fresh instance derives, starts its collector and runs.
        int calls = state.Calls;
        harness.Step(3);

        // assert 3
        Assert.Equal(1, harness.Workers["w"].DeriveCalls);
        Assert.Equal(CollectorState.Running, node.Collector!.State);
        Assert.False(((DesiredState<string>)node.Desired!).ShutdownRequested);
        Assert.True(state.Calls > calls);
        Assert.False(node.ShutdownRequested);
        Assert.Equal(2, harness.AllWorkers.Count);
    }

    [Fact]
    [Trait("spec", "C-74")]
    public async Task C74_RestartNeverCompletes_ForcedBackToInitialStateAfter30Seconds()
    {
        // arrange: "w" asks for a restart once, then its shutdown path never signals NeedsRemoval.
        bool restartWanted = true;
        var stopping = TestStates.NewStubborn("stopping");
        var initial = new LambdaState("initial", (self, in s) =>
        {
            if (s.ShutdownRequested)
            {
                return Transition.To(stopping);
            }

            if (Volatile.Read(ref restartWanted))
            {
                Volatile.Write(ref restartWanted, false);
                return Transition.Emit(self, Signal.NeedsRestart);
            }

            return Transition.To(self);
        });
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = initial);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(2);
        SupervisorNode node = harness.Node("w");
        DateTimeOffset requestedAt = harness.Time.GetUtcNow();
        Assert.True(node.ShutdownRequested);

        // act
        var flags = new List<bool>();
        while (harness.Time.GetUtcNow() < requestedAt + TimeSpan.FromSeconds(29))
        {
            harness.AdvanceAndStep(s_second);
            flags.Add(node.ShutdownRequested);
        }

        string stateBefore = node.CurrentStateName;
        harness.AdvanceAndStep(s_second);

        // assert
        Assert.All(flags, Assert.True);
        Assert.Equal("stopping", stateBefore);
        Assert.Equal("initial", node.CurrentStateName);
        Assert.False(node.ShutdownRequested);
        Assert.False(((DesiredState<string>)node.Desired!).ShutdownRequested);
        Assert.Equal(NodeLifecycle.Active, node.Lifecycle);
        Assert.Single(harness.AllWorkers);
        Assert.Equal(0, node.Incarnation);
        Assert.Single(harness.Events("restart_forced"), r => r.Node() == "w");

        // The worker keeps running normally afterwards.
        harness.AdvanceAndStep(s_second, ticks: 3);
        Assert.False(node.ShutdownRequested);
        Assert.Equal("initial", node.CurrentStateName);
    }

    [Fact]
    public async Task NeedsRestart_RemovalStartsBeforeRestartCompletes_RemovalWinsOverRestartFallback()
    {
        // arrange: "w" asks for a restart once and never finishes; 10 s later it is no longer declared.
        bool restartWanted = true;
        var stopping = TestStates.NewStubborn("stopping");
        var initial = new LambdaState("initial", (self, in s) =>
        {
            if (s.ShutdownRequested)
            {
                return Transition.To(stopping);
            }

            if (Volatile.Read(ref restartWanted))
            {
                Volatile.Write(ref restartWanted, false);
                return Transition.Emit(self, Signal.NeedsRestart);
            }

            return Transition.To(self);
        });
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = initial);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(2);
        SupervisorNode node = harness.Node("w");
        DateTimeOffset requestedAt = harness.Time.GetUtcNow();
        harness.AdvanceAndStep(TimeSpan.FromSeconds(10));
        harness.Configure();
        harness.Step();
        Assert.Equal(NodeLifecycle.Removing, node.Lifecycle);

        // act: past the restart fallback (requested + 30 s), up to the removal timeout (removal start + 30 s).
        var flags = new List<bool>();
        while (node.Lifecycle != NodeLifecycle.Finalized && flags.Count < 40)
        {
            harness.AdvanceAndStep(s_second);
            flags.Add(node.ShutdownRequested);
        }

        // assert
        Assert.Equal(NodeLifecycle.Finalized, node.Lifecycle);
        Assert.True(harness.Time.GetUtcNow() >= requestedAt + TimeSpan.FromSeconds(40), "finalized by the removal timeout");
        Assert.All(flags, Assert.True);
        Assert.Equal("stopping", node.CurrentStateName);
        Assert.Empty(harness.Events("restart_forced"));
        Assert.Single(harness.Events("node_removal_forced"), r => r.Node() == "w");
        Assert.Single(harness.AllWorkers);
    }
}
