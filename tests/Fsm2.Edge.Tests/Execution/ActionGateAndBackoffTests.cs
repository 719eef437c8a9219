using Fsm2.Edge.Execution;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Execution;

/// <summary>
/// 40-actions §7–§9 and §11 through a manual-mode runtime on a fake clock: enqueue results, the two observation gates
/// by CollectedAt, ActionStatus and history, and the per-worker backoff (jitter 0, so delays are exact).
/// </summary>
public sealed class ActionGateAndBackoffTests
{
    private static readonly TimeSpan s_second = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(100);

    private static RuntimeOptions NoJitter => new() { ActionBackoffJitter = 0 };

    private static Harness CreateWithWorker(IState<TestObserved, string> initial, RuntimeOptions? options = null)
    {
        var harness = new Harness(options ?? NoJitter);
        harness.Register("t", w => w.InitialState = initial);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(); // creates "w"; the next Step collects before the tick, so "w" is evaluated then
        return harness;
    }

    /// <summary>Real action threads run the actions: wait for them before the fake clock moves on.</summary>
    private static void StepAndSettle(Harness harness, TimeSpan advance)
    {
        harness.AdvanceAndStep(advance);
        Wait.Until(() => harness.Runtime.OutstandingActions == 0, "the enqueued action to complete");
    }

    [Fact]
    [Trait("spec", "A-02")]
    public async Task A02_ActionInFlight_ReturnedActionIsDuplicateAndTransitionStillApplies()
    {
        // arrange: Next returns the action (with a reason per attempt) until told to move on; the model forbids an
        // action and a transition in one result, so "responsive" is shown by a transition returned while in flight.
        var action = new TestAction("connect") { Block = true };
        LambdaState done = TestStates.NewIdle("done");
        bool moveOn = false;
        int attempt = 0;
        var state = new LambdaState("connecting", (self, in s) =>
            Volatile.Read(ref moveOn) ? Transition.To(done, "moved on") : Transition.Act(self, action, $"attempt {++attempt}"));
        await using Harness harness = CreateWithWorker(state);
        SupervisorNode node = harness.Node("w");
        harness.Step();
        Wait.Until(() => action.Starts == 1, "the action to start");
        long duplicatesBefore = harness.Runtime.Metrics.DuplicatesSuppressed;

        // act 1: a newer observation lets Next run; it returns the action again.
        harness.AdvanceAndStep(s_second);

        // assert 1: Duplicate — nothing enqueued, counted, the rest of the result (the reason) applied.
        Assert.Equal(2, state.Calls);
        Assert.Equal(duplicatesBefore + 1, harness.Runtime.Metrics.DuplicatesSuppressed);
        Assert.Equal(1, node.ActionSlot.Generation);
        Assert.Equal("attempt 2", node.Reason);
        Assert.Single(harness.Events("action_duplicate"));

        // act 2: the next newer observation makes Next transition while the action still runs.
        Volatile.Write(ref moveOn, true);
        harness.AdvanceAndStep(s_second);

        // assert 2
        Assert.Equal("done", node.CurrentStateName);
        Assert.Equal("moved on", node.Reason);
        Assert.True(node.ActionSlot.InFlight);
        Assert.Equal(1, action.Starts);
        action.Release();
    }

    [Fact]
    [Trait("spec", "A-03")]
    public async Task A03_InFlight_NextRunsExactlyOncePerStrictlyNewerObservation()
    {
        // arrange
        var action = new TestAction("connect") { Block = true };
        var state = new LambdaState("connecting", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action));
        await using Harness harness = CreateWithWorker(state);
        harness.Step();
        Wait.Until(() => action.Starts == 1, "the action to start");

        // act 1: ticks without any new observation.
        for (int i = 0; i < 5; i++)
        {
            harness.Runtime.TickOnce();
        }

        int withoutNewer = state.Calls;

        // act 2: a collection at the same fake instant: higher sequence, but CollectedAt is not strictly greater.
        Fsm2.Edge.Collection.Collector collector = Assert.Single(harness.Scheduler.Collectors);
        harness.Scheduler.RequestCollection(collector);
        harness.Scheduler.RunDue();
        harness.Runtime.TickOnce();
        int sameInstant = state.Calls;

        // act 3: three newer observations, each followed by extra ticks.
        var callsAfterEach = new List<int>();
        for (int i = 0; i < 3; i++)
        {
            harness.AdvanceAndStep(s_second);
            harness.Runtime.TickOnce();
            harness.Runtime.TickOnce();
            callsAfterEach.Add(state.Calls);
        }

        // assert
        Assert.Equal(1, withoutNewer);
        Assert.Equal(1, sameInstant);
        Assert.Equal([2, 3, 4], callsAfterEach);
        Assert.Equal(1, action.Starts);
        action.Release();
    }

    [Fact]
    [Trait("spec", "A-03")]
    public async Task Gate2_AfterCompletion_NextWaitsForObservationCollectedAfterTheCompletionStamp()
    {
        // arrange: the action completes at once; its completion stamp is the fake "now".
        var action = new TestAction("sync");
        var state = new LambdaState("acting", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action));
        await using Harness harness = CreateWithWorker(state);
        SupervisorNode node = harness.Node("w");
        harness.Step();
        Wait.Until(() => harness.Runtime.OutstandingActions == 0, "the action to complete");
        long completedAt = harness.Time.GetUtcNow().UtcTicks;

        // act 1: drain (which requests a collection), then that collection at the completion's instant.
        harness.Runtime.TickOnce();
        Assert.Equal(1, harness.Scheduler.RunDue());
        harness.Runtime.TickOnce();
        int atSameInstant = state.Calls;

        // act 2: one fake millisecond later a collection starts after the action ended.
        harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        harness.Scheduler.RequestCollection(Assert.Single(harness.Scheduler.Collectors));
        harness.Step();

        // assert
        Assert.Equal(completedAt, node.ActionSlot.GateCompletedAt);
        Assert.Equal(1, atSameInstant);
        Assert.Equal(2, state.Calls);
        Wait.Until(() => action.Ends == 2, "the re-emitted action to run");
    }

    [Fact]
    [Trait("spec", "A-05")]
    public async Task A05_ShutdownRequested_GatesBypassedButOneInFlightAndBackoffApply()
    {
        // arrange: on shutdown the state emits a stop action until one succeeded; the first stop attempt fails,
        // the second blocks until released.
        var stop = new ScriptedAction("stop", failFirst: 1, blockFrom: 2);
        var state = new LambdaState("running", (self, in s) =>
        {
            if (!s.ShutdownRequested)
            {
                return Transition.To(self);
            }

            return s.Action is { LastKind: "stop", LastOutcome: ActionOutcome.Success }
                ? Transition.Emit(self, Signal.NeedsRemoval)
                : Transition.Act(self, stop, "stopping");
        });
        await using Harness harness = CreateWithWorker(state);
        SupervisorNode node = harness.Node("w");
        harness.Step();
        Task<ShutdownResult> shutdown = harness.Runtime.ShutdownAsync();

        // act 1: the shutdown tick enqueues the first stop; it fails.
        harness.Runtime.TickOnce();
        Wait.Until(() => harness.Runtime.OutstandingActions == 0, "the first stop to fail");
        int callsBefore = state.Calls;
        long deferredBefore = harness.Runtime.Metrics.BackoffDeferred;

        // act 2: ticks without newer observations and without moving the clock: Next runs on every one (no gate 2),
        // but the failure's 1 s backoff defers the stop action.
        for (int i = 0; i < 3; i++)
        {
            harness.Runtime.TickOnce();
        }

        // assert 2
        Assert.Equal(callsBefore + 3, state.Calls);
        Assert.Equal(deferredBefore + 3, harness.Runtime.Metrics.BackoffDeferred);
        Assert.Equal(1, stop.Runs);
        Assert.Equal(1, node.ActionSlot.Status.ConsecutiveFailures);

        // act 3: the backoff ends; the second stop is enqueued and blocks, so further ticks see it in flight.
        harness.Time.Advance(s_second);
        harness.Runtime.TickOnce();
        Wait.Until(() => stop.Runs == 2, "the second stop to start");
        long duplicatesBefore = harness.Runtime.Metrics.DuplicatesSuppressed;
        int callsInFlight = state.Calls;
        harness.Runtime.TickOnce();
        harness.Runtime.TickOnce();

        // assert 3: Next ran on every tick with no newer observation (gate 1 bypassed), each a Duplicate.
        Assert.Equal(callsInFlight + 2, state.Calls);
        Assert.Equal(duplicatesBefore + 2, harness.Runtime.Metrics.DuplicatesSuppressed);
        Assert.Equal(2, stop.Runs);

        // act 4: the stop succeeds; the next tick drains it and Next, with no newer observation, finishes.
        stop.Release();
        Wait.Until(() => harness.Runtime.OutstandingActions == 0, "the second stop to complete");
        harness.Runtime.TickOnce();
        harness.Runtime.TickOnce();
        ShutdownResult result = await Wait.For(shutdown, "the drain");

        // assert 4
        Assert.True(result.Clean);
    }

    [Fact]
    [Trait("spec", "A-21")]
    public async Task A21_ConsecutiveFailures_NextEnqueueNoEarlierThanExponentialDelayAndSuccessResets()
    {
        // arrange: the action fails 7 times, then succeeds; the state returns it on every evaluation.
        var action = new ScriptedAction("flaky", failFirst: 7);
        var state = new LambdaState("acting", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action));
        await using Harness harness = CreateWithWorker(state);
        SupervisorNode node = harness.Node("w");

        // act: 100 ms ticks until the 9th run (the one after the success).
        var failuresAfterRun = new List<int>();
        var retryAfterRun = new List<long>();
        int seenRuns = 0;
        for (int i = 0; i < 2_000 && action.Runs < 9; i++)
        {
            StepAndSettle(harness, s_tick);
            if (!node.ActionSlot.InFlight && node.ActionSlot.Status.LastCompletedAt != 0 && action.Runs > seenRuns
                && node.ActionSlot.History?.TotalAppended == action.Runs)
            {
                seenRuns = action.Runs;
                failuresAfterRun.Add(node.ActionSlot.Status.ConsecutiveFailures);
                retryAfterRun.Add(node.ActionSlot.Status.RetryNotBefore);
            }
        }

        // assert: run k+1 started exactly delay(k) after run k's completion (the clock only moves between ticks).
        DateTimeOffset[] starts = [.. action.StartTimes];
        Assert.Equal(9, starts.Length);
        TimeSpan[] gaps = [.. Enumerable.Range(0, 8).Select(i => starts[i + 1] - starts[i])];
        Assert.Equal(
            [1, 2, 4, 8, 16, 32, 60],
            gaps.Take(7).Select(g => g.TotalSeconds));
        // After the success: no backoff, only gate 2. The collection is requested when the tick drains the completion
        // (after that tick's collections ran), so the newer observation arrives one tick later: 2 ticks.
        Assert.Equal(2 * s_tick, gaps[7]);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 0], failuresAfterRun.Take(8));
        Assert.Equal(0, retryAfterRun[7]);
        Assert.True(harness.Runtime.Metrics.BackoffDeferred > 100, "actions returned during the backoff were deferred");
    }

    [Fact]
    [Trait("spec", "A-23")]
    public async Task A23_QueueFullRefusals_ChargeNoBackoff()
    {
        // arrange: 1 thread and a ring of 16: one action runs, 16 wait, the rest are refused as QueueFull.
        const int workers = 24;
        var action = new TestAction("hold") { Block = true };
        var harness = new Harness(NoJitter with { ActionThreads = 1, ActionQueueCapacity = 16 });
        await using (harness)
        {
            harness.Register("t", w => w.InitialState = new LambdaState("acting", (self, in s) =>
                s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action)));
            harness.Configure([.. Enumerable.Range(0, workers).Select(i => Harness.Spec($"w{i:00}", "t"))]);
            harness.Step();
            harness.Step();
            Wait.Until(() => action.Starts == 1, "the first action to start");
            harness.Step();

            // assert: refused workers are neither in flight nor in backoff.
            SupervisorNode[] refused = [.. Enumerable.Range(0, workers).Select(i => harness.Node($"w{i:00}")).Where(n => !n.ActionSlot.InFlight)];
            Assert.NotEmpty(refused);
            Assert.All(refused, n => Assert.Equal(default, n.ActionSlot.Status));

            // act: release; the refused workers are enqueued again on later ticks, without a backoff.
            action.Release();
            for (int i = 0; i < 20 && action.Ends < workers; i++)
            {
                StepAndSettle(harness, s_tick);
            }

            Assert.Equal(workers, action.Ends);
            Assert.All(refused, n => Assert.Equal(0, n.ActionSlot.Status.RetryNotBefore));
        }
    }

    [Fact]
    [Trait("spec", "A-23")]
    public async Task A23_CancelledCompletion_ChargesNoBackoff()
    {
        // arrange: an accepted Cancelled completion, applied directly (the runtime normally discards the completion
        // of an action it cancelled itself, so this pins the bookkeeping rule).
        await using Harness harness = CreateWithWorker(TestStates.NewIdle());
        SupervisorNode node = harness.Node("w");
        ActionSlot slot = node.ActionSlot;
        slot.Generation = 7;
        slot.InFlight = true;
        slot.InFlightKind = "k";
        long stamp = harness.Time.GetUtcNow().UtcTicks;

        // act
        node.ApplyCompletion(new ActionCompletion(slot, 7, "k", ActionOutcome.Cancelled, null, TimeSpan.Zero, stamp));

        // assert
        Assert.Equal(ActionOutcome.Cancelled, slot.Status.LastOutcome);
        Assert.Equal(0, slot.Status.ConsecutiveFailures);
        Assert.Equal(0, slot.Status.RetryNotBefore);
    }

    [Fact]
    [Trait("spec", "A-24")]
    public async Task A24_Completion_DrainedBeforeNextAndVisibleInActionStatus()
    {
        // arrange: the state records the ActionStatus each Next sees.
        var action = new TestAction("flaky") { Throws = new IOException("port busy") };
        var seen = new List<ActionStatus>();
        var state = new LambdaState("acting", (self, in s) =>
        {
            seen.Add(s.Action);
            return s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action);
        });
        await using Harness harness = CreateWithWorker(state);
        SupervisorNode node = harness.Node("w");
        long enqueuedAt = harness.Time.GetUtcNow().UtcTicks;
        harness.Step();
        ActionStatus inFlight = node.ActionSlot.Status;
        Wait.Until(() => harness.Runtime.OutstandingActions == 0, "the action to fail");
        long completedAt = harness.Time.GetUtcNow().UtcTicks;

        // act: the next tick (newer observation) drains the completion before it calls Next.
        harness.AdvanceAndStep(s_second);

        // assert
        Assert.Equal(new ActionStatus("flaky", enqueuedAt, null, ActionOutcome.None, null, 0, 0, 0), inFlight);
        var expected = new ActionStatus(null, 0, "flaky", ActionOutcome.Error, "port busy", completedAt, 1, completedAt + s_second.Ticks);
        Assert.Equal(2, seen.Count);
        Assert.Equal(expected, seen[1]);

        // The backoff ended exactly at this tick, so the action Next returned was enqueued again.
        Assert.Equal(expected with { InFlightKind = "flaky", InFlightSince = completedAt + s_second.Ticks }, node.ActionSlot.Status);
    }

    [Fact]
    [Trait("spec", "A-25")]
    public async Task A25_FortyCompletions_HistoryHoldsTheLast32InOrder()
    {
        // arrange: 40 distinct action kinds, emitted one after the other, each after the previous one completed.
        ScriptedAction[] actions = [.. Enumerable.Range(0, 40).Select(i => new ScriptedAction($"a{i:00}"))];
        int next = 0;
        var state = new LambdaState("sequencing", (self, in s) =>
        {
            if (s.ShutdownRequested)
            {
                return Transition.Emit(self, Signal.NeedsRemoval);
            }

            if (next < actions.Length && s.Action.LastKind == actions[next].Kind)
            {
                next++;
            }

            return next < actions.Length ? Transition.Act(self, actions[next]) : Transition.To(self);
        });
        await using Harness harness = CreateWithWorker(state);
        SupervisorNode node = harness.Node("w");

        // act
        for (int i = 0; i < 200 && (node.ActionSlot.History?.TotalAppended ?? 0) < 40; i++)
        {
            StepAndSettle(harness, s_second);
        }

        // assert
        ActionHistory history = Assert.IsType<ActionHistory>(node.ActionSlot.History);
        ActionHistoryEntry[] entries = history.ToArray();
        Assert.Equal(40, history.TotalAppended);
        Assert.Equal(32, entries.Length);
        Assert.Equal([.. Enumerable.Range(8, 32).Select(i => $"a{i:00}")], entries.Select(e => e.Kind));
        Assert.All(entries, e => Assert.Equal(ActionOutcome.Success, e.Outcome));
        Assert.True(entries.Zip(entries.Skip(1)).All(p => p.First.CompletedAt < p.Second.CompletedAt), "in completion order");
    }

    [Fact]
    [Trait("spec", "A-29")]
    public async Task A29_ShutdownStateStopAction_AcceptedAndExecutedDuringTheDrain()
    {
        // arrange: on shutdown the state emits a stop action and finishes once it succeeded.
        var stop = new ScriptedAction("stop");
        var state = new LambdaState("running", (self, in s) =>
        {
            if (!s.ShutdownRequested)
            {
                return Transition.To(self);
            }

            return s.Action is { LastKind: "stop", LastOutcome: ActionOutcome.Success }
                ? Transition.Emit(self, Signal.NeedsRemoval)
                : Transition.Act(self, stop, "stopping");
        });
        await using Harness harness = CreateWithWorker(state);
        harness.Step();

        // act
        Task<ShutdownResult> shutdown = harness.Runtime.ShutdownAsync();
        for (int i = 0; i < 10 && !shutdown.IsCompleted; i++)
        {
            StepAndSettle(harness, s_tick);
        }

        ShutdownResult result = await Wait.For(shutdown, "the drain");

        // assert
        Assert.True(result.Clean);
        Assert.Equal(1, stop.Runs);
    }

    [Fact]
    [Trait("spec", "A-21")]
    public void Backoff_DelayDoublesToTheCapAndJitterStaysWithinBounds()
    {
        // arrange
        var random = new Random(42);
        TimeSpan b = TimeSpan.FromSeconds(1), max = TimeSpan.FromSeconds(60);

        // act
        double[] delays = [.. Enumerable.Range(1, 9).Select(k => ActionBackoff.Delay(k, b, max).TotalSeconds)];
        long[] jittered = [.. Enumerable.Range(0, 1_000).Select(_ => ActionBackoff.RetryNotBefore(0, 3, b, max, 0.2, random))];

        // assert
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], delays);
        Assert.Equal(60, ActionBackoff.Delay(int.MaxValue, b, max).TotalSeconds);
        Assert.All(jittered, t => Assert.InRange(t, TimeSpan.FromSeconds(3.2).Ticks, TimeSpan.FromSeconds(4.8).Ticks));
        Assert.True(jittered.Distinct().Count() > 100, "jitter spreads the delays");
    }

    [Fact]
    [Trait("spec", "A-21")]
    public void Backoff_JitteredDelayAtTheCapNeverExceedsTheCap()
    {
        // arrange: the 7th and later failures sit at the 60 s cap, where +20 % jitter would reach 72 s.
        var random = new Random(7);
        TimeSpan b = TimeSpan.FromSeconds(1), max = TimeSpan.FromSeconds(60);

        // act
        long[] jittered = [.. Enumerable.Range(0, 1_000).Select(i => ActionBackoff.RetryNotBefore(0, 7 + (i % 3), b, max, 0.2, random))];

        // assert: jitter(d) = min(d × (1 + J × u), max) (30-supervision §5.3): within [48 s, 60 s], and spread below the cap.
        Assert.All(jittered, t => Assert.InRange(t, TimeSpan.FromSeconds(48).Ticks, max.Ticks));
        Assert.Contains(jittered, t => t == max.Ticks);
        Assert.True(jittered.Count(t => t < max.Ticks) > 300, "jitter still spreads the delays below the cap");
    }

    /// <summary>Fails its first <c>failFirst</c> runs, blocks from run <c>blockFrom</c> until released, records starts.</summary>
    private sealed class ScriptedAction(string kind, int failFirst = 0, int blockFrom = int.MaxValue) : IAction
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _runs;

        public string Kind { get; } = kind;

        public TimeSpan? Timeout => null;

        public int Runs => Volatile.Read(ref _runs);

        public System.Collections.Concurrent.ConcurrentQueue<DateTimeOffset> StartTimes { get; } = new();

        public void Release() => _release.TrySetResult();

        public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            StartTimes.Enqueue(context.Time.GetUtcNow());
            int run = Interlocked.Increment(ref _runs);
            if (run <= failFirst)
            {
                throw new IOException($"failure {run}");
            }

            if (run >= blockFrom)
            {
                await _release.Task.WaitAsync(cancellationToken);
            }
        }
    }
}
