using Fsm2.Edge.Execution;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Execution;

/// <summary>
/// Action hand-over through the baseline Channels executor, driven by a manual-mode runtime: the tick hands actions
/// over (§2.9, §4.2 step 11), the action threads run them, completions come back at the start of a tick.
/// </summary>
public sealed class ChannelActionExecutorTests
{
    /// <summary>A state that stays put and emits <paramref name="action"/> on every evaluation (an active state).</summary>
    private static LambdaState TryingTo(IAction action) => new("trying-to-act", (self, in s) =>
        s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action, "acting"));

    private static Harness CreateWithWorker(IState<TestObserved, string> initial, RuntimeOptions? options = null)
    {
        var harness = new Harness(options);
        harness.Register("t", w => w.InitialState = initial);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(); // creates "w"; the next Step collects before the tick, so "w" is evaluated then
        return harness;
    }

    [Fact]
    [Trait("spec", "C-09")]
    public async Task C09_SameStateWithAction_HandedToExecutorAndStateUnchanged()
    {
        // arrange
        var action = new TestAction("connect") { Block = true };
        LambdaState state = TryingTo(action);
        await using Harness harness = CreateWithWorker(state);
        SupervisorNode node = harness.Node("w");

        // act
        harness.Step();

        // assert
        Assert.Equal(1, state.Calls);
        Assert.Equal("trying-to-act", node.CurrentStateName);
        Assert.Equal("acting", node.Reason);
        Assert.True(node.ActionSlot.InFlight);
        Assert.Equal("connect", node.ActionSlot.InFlightKind);
        Assert.Equal(1, node.ActionSlot.Generation);
        Assert.Empty(harness.Events("state_transition"));
        Wait.Until(() => action.Starts == 1, "the action to start on an action thread");
        action.Release();
    }

    [Fact]
    [Trait("spec", "C-09")]
    public async Task C09_ActionHandedOver_RunsOnAnActionThread()
    {
        // arrange
        var action = new TestAction();
        await using Harness harness = CreateWithWorker(TryingTo(action));

        // act
        harness.Step();
        Wait.Until(() => action.Ends == 1, "the action to run");

        // assert
        Assert.True(action.ThreadNames.TryPeek(out string? name));
        Assert.NotNull(name);
        Assert.StartsWith("fsm2-action-", name, StringComparison.Ordinal);
        Assert.NotEqual(Thread.CurrentThread.Name, name);
    }

    [Fact]
    [Trait("spec", "C-09")]
    public async Task C09_ActionInFlight_AtMostOnePerWorkerAndNextOnlyOnNewerObservations()
    {
        // arrange: the action blocks until released; each 1 s step brings a newer observation (40-actions §8 gate 1).
        var action = new TestAction { Block = true };
        LambdaState state = TryingTo(action);
        await using Harness harness = CreateWithWorker(state);
        harness.Step();
        Wait.Until(() => action.Starts == 1, "the first action to start");

        // act
        harness.AdvanceAndStep(TimeSpan.FromSeconds(1), ticks: 5);

        // assert: Next ran once per newer observation, and every action it returned meanwhile was a Duplicate.
        Assert.Equal(6, state.Calls);
        Assert.Equal(5, harness.Runtime.Metrics.DuplicatesSuppressed);
        Assert.Equal(1, action.Starts);
        Assert.Equal(1, action.MaxConcurrent);
        Assert.Equal(1, harness.Node("w").ActionSlot.Generation);
        action.Release();
    }

    [Fact]
    [Trait("spec", "C-09")]
    public async Task C09_ActionCompleted_WorkerWaitsForAStrictlyNewerObservation()
    {
        // arrange
        var action = new TestAction { Block = true };
        LambdaState state = TryingTo(action);
        await using Harness harness = CreateWithWorker(state);
        harness.Step();
        SupervisorNode node = harness.Node("w");
        Wait.Until(() => action.Starts == 1, "the first action to start");
        action.Release();
        Wait.Until(() => action.Ends == 1, "the first action to end");

        // act: ticks without collections apply the completion but see no newer observation.
        Wait.Until(
            () =>
            {
                harness.Runtime.TickOnce();
                return !node.ActionSlot.InFlight;
            },
            "the completion to reach the tick");
        harness.Runtime.TickOnce();
        harness.Runtime.TickOnce();
        int callsWithoutNewerObservation = state.Calls;
        Assert.True(node.Worker!.TryGetObservation(out _, out long sequenceAtCompletion));

        // The completion requested an immediate collection. On the fake clock a collection at the completion's
        // instant is not newer (gate 2 compares CollectedAt with the completion stamp), so the clock moves first.
        harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        int collections = harness.Scheduler.RunDue();
        harness.Runtime.TickOnce();

        // assert
        Assert.Equal(ActionOutcome.Success, node.ActionSlot.LastOutcome);
        Assert.Equal(1, callsWithoutNewerObservation);
        Assert.Equal(1, collections);
        Assert.Equal(2, state.Calls);
        Assert.Equal(sequenceAtCompletion + 1, state.LastSequence);
        Wait.Until(() => action.Starts == 2, "the re-emitted action to start");
    }

    [Fact]
    public async Task TickOnce_ActionWithTimeout_TokenCancelledExactlyAtItsTimeout()
    {
        // arrange: the action honours its token and would otherwise wait forever.
        var action = new TestAction("slow", TimeSpan.FromSeconds(5)) { Block = true };
        await using Harness harness = CreateWithWorker(TryingTo(action));
        harness.Step();
        SupervisorNode node = harness.Node("w");
        Wait.Until(() => action.Starts == 1, "the action to start");
        DateTimeOffset started = action.StartedAt!.Value;

        // act
        harness.Time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        bool cancelledBeforeTimeout = action.LastToken.IsCancellationRequested;
        harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        Wait.Until(() => action.Ends == 1, "the timed-out action to end");
        Wait.Until(
            () =>
            {
                harness.Runtime.TickOnce();
                return !node.ActionSlot.InFlight;
            },
            "the completion to reach the tick");

        // assert
        Assert.False(cancelledBeforeTimeout);
        Assert.Equal(started + TimeSpan.FromSeconds(5), action.CancelledAt);
        Assert.Equal(ActionOutcome.Timeout, node.ActionSlot.LastOutcome);
        Assert.Single(harness.Events("action_failed"), r => r.Node() == "w" && r.Field("Outcome") == "Timeout");
    }

    [Fact]
    public async Task TickOnce_ActionWithoutTimeout_TokenCancelledAtTheRuntimeActionTimeout()
    {
        // arrange
        var action = new TestAction { Block = true };
        var options = new RuntimeOptions { ActionTimeout = TimeSpan.FromSeconds(3) };
        await using Harness harness = CreateWithWorker(TryingTo(action), options);
        harness.Step();
        Wait.Until(() => action.Starts == 1, "the action to start");
        DateTimeOffset started = action.StartedAt!.Value;

        // act
        harness.Time.Advance(TimeSpan.FromSeconds(3));
        Wait.Until(() => action.Ends == 1, "the timed-out action to end");

        // assert
        Assert.Equal(started + TimeSpan.FromSeconds(3), action.CancelledAt);
    }

    [Fact]
    public async Task TickOnce_ActionThrows_ErrorRecordedWithWorkerIdAndTickGoesOn()
    {
        // arrange: "w" runs a failing action, sibling "s" is idle.
        var action = new TestAction("flaky") { Throws = new IOException("port busy") };
        LambdaState state = TryingTo(action);
        LambdaState siblingState = TestStates.NewIdle("sibling-idle");
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = state);
        harness.Register("s", w => w.InitialState = siblingState);
        harness.Configure(Harness.Spec("w", "t"), Harness.Spec("s", "s"));
        harness.Step(2);
        SupervisorNode node = harness.Node("w");

        // act
        Wait.Until(() => action.Ends == 1, "the failing action to run");
        Wait.Until(
            () =>
            {
                harness.Runtime.TickOnce();
                return !node.ActionSlot.InFlight;
            },
            "the completion to reach the tick");
        harness.AdvanceAndStep(TimeSpan.FromSeconds(1), ticks: 3); // newer observations open gate 2

        // assert
        Assert.Equal(ActionOutcome.Error, node.ActionSlot.LastOutcome);
        Assert.Equal("port busy", node.ActionSlot.LastError);
        Assert.Contains(harness.Events("action_failed"), r => r.Node() == "w" && r.Field("Error") == "port busy");
        Assert.Equal(NodeLifecycle.Active, node.Lifecycle);
        Assert.True(state.Calls >= 2, "the worker is evaluated again after the failed action");
        Assert.True(siblingState.Calls >= 4, "the sibling is unaffected");
        Assert.Null(harness.Node("s").LastError);
    }
}
