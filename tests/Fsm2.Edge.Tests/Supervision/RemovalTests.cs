using System.Globalization;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>Graceful removal (§12), name reservation (§12.2) and self-removal (§11.2).</summary>
public sealed class RemovalTests
{
    [Fact]
    [Trait("spec", "C-66")]
    public async Task C66_RemovingChildSignalsNeedsRemoval_FinalizedByEndOfThatTick()
    {
        // arrange: running → stopping → stopped → NeedsRemoval, one evaluation per second.
        await using var h = new Harness();
        h.Register("slow", w => w.InitialState = StatePaths.NewSlowStopper());
        h.RegisterParent("parent", cfg => cfg == "v1" ? [Spec("c", "slow")] : null);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode child = h.Node("p/c");
        Collector collector = child.Collector!;
        Assert.Equal(CollectorState.Running, collector.State);
        using var durations = new MetricCollector<double>(h.Runtime.Metrics.ChildRemovalDuration);
        h.Redeclare("p", "parent", "v2");
        h.AdvanceAndStep(TimeSpan.FromSeconds(1));
        Assert.Equal(NodeLifecycle.Removing, child.Lifecycle);
        Assert.Equal("stopped", child.CurrentStateName);

        // act: "stopped" signals NeedsRemoval in this tick.
        h.AdvanceAndStep(TimeSpan.FromSeconds(1));

        // assert
        Assert.Equal(NodeLifecycle.Finalized, child.Lifecycle);
        Assert.Equal(CollectorState.Stopped, collector.State);
        Assert.DoesNotContain(h.Scheduler.Collectors, c => c.WorkerId == "p/c");
        Assert.Null(h.Runtime.FindNode("p/c"));
        Assert.Equal(1, h.Runtime.LiveWorkerCount);
        Assert.Empty(h.Node("p").ListRemovingChildren());
        FakeLogRecord removed = Assert.Single(h.Events("node_removed"), r => r.GetStructuredStateValue("Node") == "p/c");
        Assert.Equal(LogLevel.Information, removed.Level);
        Assert.Equal("stopped", removed.GetStructuredStateValue("FinalState"));
        Assert.Equal("removed_from_spec", removed.GetStructuredStateValue("Reason"));
        Assert.Equal(2000, double.Parse(removed.GetStructuredStateValue("DurationMs")!, CultureInfo.InvariantCulture));
        CollectedMeasurement<double> duration = Assert.Single(durations.GetMeasurementSnapshot());
        Assert.Equal(2.0, duration.Value);
        Assert.Equal("graceful", duration.Tags["outcome"]);
    }

    [Fact]
    [Trait("spec", "C-67")]
    public async Task C67_RemovingChildNeverSignals_ForceFinalizedAfter30Seconds()
    {
        // arrange
        await using var h = new Harness();
        h.Register("stubborn", w => w.InitialState = TestStates.NewStubborn());
        h.RegisterParent("parent", cfg => cfg == "v1" ? [Spec("c", "stubborn")] : null);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode child = h.Node("p/c");
        Collector collector = child.Collector!;
        using var durations = new MetricCollector<double>(h.Runtime.Metrics.ChildRemovalDuration);
        h.Redeclare("p", "parent", "v2");

        // act: 29 s pass.
        h.AdvanceAndStep(TimeSpan.FromSeconds(1), ticks: 29);

        // assert
        Assert.Equal(NodeLifecycle.Removing, child.Lifecycle);
        Assert.Empty(h.Events("node_removal_forced"));

        // act: the 30th second.
        h.AdvanceAndStep(TimeSpan.FromSeconds(1));

        // assert
        Assert.Equal(NodeLifecycle.Finalized, child.Lifecycle);
        Assert.Null(h.Runtime.FindNode("p/c"));
        Assert.Equal(CollectorState.Stopped, collector.State);
        FakeLogRecord forced = Assert.Single(h.Events("node_removal_forced"));
        Assert.Equal(LogLevel.Error, forced.Level);
        Assert.Equal("p/c", forced.GetStructuredStateValue("Node"));
        Assert.Equal("stubborn", forced.GetStructuredStateValue("State"));
        CollectedMeasurement<double> duration = Assert.Single(durations.GetMeasurementSnapshot());
        Assert.Equal("forced", duration.Tags["outcome"]);
        Assert.Equal(30.0, duration.Value);
    }

    [Fact]
    [Trait("spec", "C-69")]
    public async Task C69_RemovalGrace_ReappearanceCancelsAndLongAbsenceRemoves()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        ChildSpec Graced() => new("g", "leaf", UserSpec.Empty, RemovalGrace: TimeSpan.FromSeconds(5));
        h.RegisterParent("parent", cfg => cfg.StartsWith("on", StringComparison.Ordinal) ? [Graced()] : null);
        h.Redeclare("p", "parent", "on1", ticks: 2);
        SupervisorNode p = h.Node("p");
        SupervisorNode g = h.Node("p/g");

        // act: undeclared for 2 s, then declared again.
        h.Redeclare("p", "parent", "off1");
        h.AdvanceAndStep(TimeSpan.FromSeconds(1), ticks: 2);
        Assert.Equal(["g"], p.ListChildren());
        Assert.Equal("idle", p.Children.GetState("g"));
        h.Redeclare("p", "parent", "on2");

        // assert
        Assert.Same(g, p.GetChild("g"));
        Assert.Equal(NodeLifecycle.Active, g.Lifecycle);
        Assert.False(g.ShutdownRequested);
        Assert.Equal(1, h.EventCount("node_removal_cancelled", "p/g"));

        // act: undeclared for longer than the grace period.
        h.Redeclare("p", "parent", "off2");
        h.AdvanceAndStep(TimeSpan.FromSeconds(1), ticks: 4);

        // assert
        Assert.Same(g, p.GetChild("g"));
        Assert.Equal(0, h.EventCount("node_removing", "p/g"));

        // act
        h.AdvanceAndStep(TimeSpan.FromSeconds(1), ticks: 2);

        // assert
        Assert.Null(p.GetChild("g"));
        Assert.True(g.ShutdownRequested);
        Assert.NotEqual(NodeLifecycle.Active, g.Lifecycle);
        Assert.Equal(1, h.EventCount("node_removing", "p/g"));
    }

    [Fact]
    [Trait("spec", "C-71")]
    public async Task C71_ChildWithActionInFlightUndeclared_TokenCancelledInThatTickAndLateCompletionDiscarded()
    {
        // arrange: the child's state emits an action that ignores cancellation until the test releases it.
        var action = new GateAction(honourCancellation: false);
        var working = new LambdaState("working", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action));
        await using var h = new Harness();
        try
        {
            h.Register("actor", w => w.InitialState = working);
            h.RegisterParent("parent", cfg => cfg == "v1" ? [Spec("c", "actor")] : null);
            h.Redeclare("p", "parent", "v1", ticks: 2);
            CancellationToken token = await Wait.For(action.Started, "the action to start");
            Assert.False(token.IsCancellationRequested);
            SupervisorNode child = h.Node("p/c");
            using var late = new MetricCollector<long>(h.Runtime.Metrics.ActionLateCompletions);

            // act
            h.Redeclare("p", "parent", "v2");

            // assert: cancelled by the removal tick itself, without another tick. The cancelled action no longer
            // holds the worker (its completion will be discarded), so its shutdown path runs in the same tick and the
            // child, which signals NeedsRemoval at once, is finalized while the action is still running.
            Assert.True(token.IsCancellationRequested);
            Assert.Equal(NodeLifecycle.Finalized, child.Lifecycle);
            Assert.Equal(1, h.EventCount("node_removed", "p/c"));

            // act: the action ignored the cancellation and returns only now.
            action.Release();
            Wait.Until(
                () =>
                {
                    h.Step();
                    return late.GetMeasurementSnapshot().Count > 0;
                },
                "the late completion to be drained");

            // assert
            Assert.Equal(NodeLifecycle.Finalized, child.Lifecycle);
            Assert.Equal(1, action.Runs);
            Assert.Null(h.Runtime.FindNode("p/c"));
            Assert.Single(late.GetMeasurementSnapshot());
        }
        finally
        {
            action.Release();
        }
    }

    [Fact]
    public async Task Reconcile_NameHeldByRemovingNode_DeferredUntilFinalizedThenCreatedOnNextTick()
    {
        // arrange
        await using var h = new Harness();
        h.Register("slow", w => w.InitialState = StatePaths.NewSlowStopper());
        h.RegisterParent("parent", cfg => cfg == "without" ? null : [Spec("r", "slow")]);
        h.Redeclare("p", "parent", "with1", ticks: 2);
        SupervisorNode p = h.Node("p");
        SupervisorNode old = h.Node("p/r");
        h.Redeclare("p", "parent", "without");
        Assert.Equal("stopping", old.CurrentStateName);

        // act: declared again while the old node is still removing.
        h.Redeclare("p", "parent", "with2");

        // assert: deferred, not an error, not visible.
        Assert.Equal(NodeLifecycle.Removing, old.Lifecycle);
        Assert.Null(p.GetChild("r"));
        Assert.Equal(["r"], p.ListRemovingChildren());
        Assert.Empty(p.ListChildren());
        Assert.Equal("", p.Children.GetState("r"));
        Assert.Null(p.GetError(ErrorSource.Reconcile));
        Assert.Single(h.Events("child_deferred"));
        Assert.Equal(LogLevel.Debug, h.Events("child_deferred")[0].Level);

        // act: the old node signals NeedsRemoval and is finalized in this tick.
        h.Step();

        // assert
        Assert.Equal(NodeLifecycle.Finalized, old.Lifecycle);
        Assert.Null(p.GetChild("r"));

        // act: the next tick's reconcile creates the new node.
        h.Step();

        // assert
        SupervisorNode? created = p.GetChild("r");
        Assert.NotNull(created);
        Assert.NotSame(old, created);
        Assert.Equal("running", created.CurrentStateName);
        Assert.Equal(2, h.InstancesCreated("p/r"));
        Assert.Same(created, h.Runtime.FindNode("p/r"));
    }

    [Fact]
    public async Task Tick_ChildRemovesItselfWhileDeclared_IsRecreatedAsFreshNode()
    {
        // arrange: the child signals NeedsRemoval when it observes value 1.
        var init = new LambdaState("init", static (self, in s) =>
            s.ShutdownRequested || s.Observed.Value == 1 ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self));
        await using var h = new Harness();
        h.Register("leaf", w => w.InitialState = init);
        h.RegisterParent("parent", _ => [Spec("c", "leaf")]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode p = h.Node("p");
        SupervisorNode old = h.Node("p/c");
        TestWorker oldWorker = h.Worker("p/c");
        using var restarts = new MetricCollector<long>(h.Runtime.Metrics.NodeRestarts);

        // act: the child removes itself.
        oldWorker.NextObservation = new TestObserved(1);
        h.AdvanceAndStep(TimeSpan.FromSeconds(1));

        // assert: finalized in the same tick (it has no children), reason SelfRemoved.
        Assert.Equal(NodeLifecycle.Finalized, old.Lifecycle);
        Assert.Equal(ShutdownReason.SelfRemoved, old.ShutdownReason);
        Assert.Null(p.GetChild("c"));

        // act: the parent still declares it.
        h.Step();

        // assert
        SupervisorNode? fresh = p.GetChild("c");
        Assert.NotNull(fresh);
        Assert.NotSame(old, fresh);
        Assert.NotSame(oldWorker, h.Worker("p/c"));
        Assert.Equal("init", fresh.CurrentStateName);
        Assert.False(fresh.ShutdownRequested);
        Assert.Same(fresh, h.Runtime.FindNode("p/c"));
        FakeLogRecord restart = Assert.Single(h.Events("node_restart"));
        Assert.Equal(LogLevel.Warning, restart.Level);
        Assert.Equal("self_removed", restart.GetStructuredStateValue("Reason"));
        CollectedMeasurement<long> counted = Assert.Single(restarts.GetMeasurementSnapshot());
        Assert.Equal("signal", counted.Tags["reason"]);

        // act: the fresh worker observes value 0 and stays.
        h.Step(2);

        // assert
        Assert.Same(fresh, p.GetChild("c"));
        Assert.Equal(2, h.InstancesCreated("p/c"));
    }

    [Fact]
    public async Task Tick_TopLevelEntryRemovesItself_IsRecreatedUnderRoot()
    {
        // arrange
        var init = new LambdaState("init", static (self, in s) =>
            s.ShutdownRequested || s.Observed.Value == 1 ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self));
        await using var h = new Harness();
        h.Register("leaf", w => w.InitialState = init);
        h.ConfigureTop("top", "leaf");
        h.Step(2);
        SupervisorNode old = h.Node("top");

        // act
        h.Worker("top").NextObservation = new TestObserved(1);
        h.AdvanceAndStep(TimeSpan.FromSeconds(1));
        h.Step();

        // assert
        Assert.Equal(NodeLifecycle.Finalized, old.Lifecycle);
        Assert.Equal(ShutdownReason.SelfRemoved, old.ShutdownReason);
        SupervisorNode? fresh = h.Runtime.Root.GetChild("top");
        Assert.NotNull(fresh);
        Assert.NotSame(old, fresh);
        Assert.Equal(2, h.InstancesCreated("top"));
        Assert.Equal("self_removed", Assert.Single(h.Events("node_restart")).GetStructuredStateValue("Reason"));
    }
}
