using Fsm2.Edge.Execution;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Tests.Execution;

/// <summary>
/// 40-actions §10: the tick's stuck scan (2T warning) and abandonment (3T), through a manual-mode runtime on a fake
/// clock with the default ring executor. The action ignores its token and blocks its thread until the test releases it.
/// </summary>
public sealed class ActionStuckAndAbandonTests
{
    private static readonly TimeSpan s_second = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_half = TimeSpan.FromMilliseconds(500);

    // No A-id covers the scan itself (A-18 is the thread capture that follows it); this pins §10's abandonment steps.
    [Fact]
    public async Task IgnoringAction_StuckAt2T_AbandonedAt3T_RetriesAfterBackoff_LateCompletionDiscarded()
    {
        // arrange: T = 1 s, backoff base 1 s without jitter; two threads, so the retry runs while run 1 holds a thread.
        var action = new IgnoresTokenOnFirstRun("hang", s_second);
        var state = new LambdaState("acting", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action));
        var harness = new Harness(new RuntimeOptions { ActionBackoffJitter = 0, ActionThreads = 2 });
        await using (harness)
        {
            try
            {
                harness.Register("t", w => w.InitialState = state);
                harness.Configure(Harness.Spec("w", "t"));
                harness.Step();
                SupervisorNode node = harness.Node("w");
                ActionSlot slot = node.ActionSlot;
                var executor = (RingActionExecutor)harness.Runtime.Executor;
                using var stuck = new MetricCollector<long>(harness.Runtime.Metrics.ActionStuck);
                using var abandoned = new MetricCollector<long>(harness.Runtime.Metrics.ActionAbandoned);
                using var late = new MetricCollector<long>(harness.Runtime.Metrics.ActionLateCompletions);
                harness.Step();
                Wait.Until(() => action.Starts == 1, "the action to start");
                Assert.Equal(1, harness.Runtime.Metrics.ActionsInFlight);

                // act 1: age 1 s (token cancelled, ignored), then 2 s, then one more tick at 2 s.
                harness.AdvanceAndStep(s_second);
                int stuckAt1s = harness.Events("action_stuck").Count;
                harness.AdvanceAndStep(s_second);
                harness.Runtime.TickOnce();

                // assert 1: one warning, still in flight.
                Assert.Equal(0, stuckAt1s);
                FakeLogRecordAssert(Assert.Single(harness.Events("action_stuck")), LogLevel.Warning);
                Assert.True(slot.InFlight);
                Assert.Equal(1, stuck.GetMeasurementSnapshot().EvaluateAsCounter());
                Assert.Equal("t", stuck.LastMeasurement!.Tags["worker_type"]);
                Assert.Equal("hang", stuck.LastMeasurement!.Tags["action"]);

                // act 2: age 3 s.
                harness.AdvanceAndStep(s_second);
                long abandonStamp = harness.Time.GetUtcNow().UtcTicks;

                // assert 2: abandoned — a failure for the backoff, gate 2 armed with the abandon stamp.
                Assert.False(slot.InFlight);
                Assert.Equal(2, slot.Generation);
                ActionStatus status = slot.Status;
                Assert.Equal(ActionOutcome.Abandoned, status.LastOutcome);
                Assert.Equal("hang", status.LastKind);
                Assert.Equal(1, status.ConsecutiveFailures);
                Assert.Equal(abandonStamp + s_second.Ticks, status.RetryNotBefore);
                Assert.Equal(abandonStamp, slot.GateCompletedAt);
                FakeLogRecordAssert(Assert.Single(harness.Events("action_abandoned")), LogLevel.Error);
                Assert.Single(harness.Events("action_stuck"));
                Assert.Equal(1, abandoned.GetMeasurementSnapshot().EvaluateAsCounter());
                Assert.Equal(0, harness.Runtime.Metrics.ActionsInFlight);
                Assert.Equal(1, action.Starts);

                // act 3: inside the backoff the re-emitted action is deferred; at its end it is enqueued again.
                long deferredBefore = harness.Runtime.Metrics.BackoffDeferred;
                harness.AdvanceAndStep(s_half);
                Assert.Equal(deferredBefore + 1, harness.Runtime.Metrics.BackoffDeferred);
                Assert.Equal(1, action.Starts);
                harness.AdvanceAndStep(s_half);
                // Completed counts inside ExecuteAsync, before the action thread publishes the completion; the
                // executor's outstanding count drops only after publishing, so wait on that (run 1 stays outstanding).
                Wait.Until(() => action.Completed == 1 && harness.Runtime.OutstandingActions == 1, "the retry's completion to be published");
                harness.Runtime.TickOnce();

                // assert 3: the retry succeeded with a new generation while run 1 still holds its thread.
                Assert.Equal(2, action.Starts);
                Assert.Equal(3, slot.Generation);
                Assert.Equal(ActionOutcome.Success, slot.LastOutcome);
                Assert.Equal(0, slot.ConsecutiveFailures);
                Assert.Equal(0, late.GetMeasurementSnapshot().EvaluateAsCounter());

                // act 4: the abandoned execution finally returns.
                action.Release();
                Wait.Until(() => harness.Runtime.OutstandingActions == 0, "the abandoned execution to end");
                harness.Runtime.TickOnce();

                // assert 4: its completion is late (discarded) and its envelope is back in the pool.
                Assert.Equal(1, late.GetMeasurementSnapshot().EvaluateAsCounter());
                Assert.Equal(ActionOutcome.Success, slot.LastOutcome);
                Assert.Equal(3, slot.Generation);
                Assert.Equal(executor.EnvelopeCount, executor.FreeEnvelopes);
                Assert.Single(harness.Events("action_abandoned"));
            }
            finally
            {
                action.Release();
            }
        }
    }

    private static void FakeLogRecordAssert(Microsoft.Extensions.Logging.Testing.FakeLogRecord record, LogLevel level)
    {
        Assert.Equal(level, record.Level);
        Assert.Contains("node=w", record.Message, StringComparison.Ordinal);
        Assert.Contains("action=hang", record.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Run 1 blocks its thread synchronously and ignores its token until released (bounded at 30 s so a broken test
    /// cannot hang the run); later runs return at once.
    /// </summary>
    private sealed class IgnoresTokenOnFirstRun(string kind, TimeSpan timeout) : IAction
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _starts;
        private int _completed;

        public string Kind { get; } = kind;

        public TimeSpan? Timeout { get; } = timeout;

        public int Starts => Volatile.Read(ref _starts);

        /// <summary>Runs after the first that returned.</summary>
        public int Completed => Volatile.Read(ref _completed);

        public void Release() => _release.TrySetResult();

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _starts) == 1)
            {
                _release.Task.Wait(TimeSpan.FromSeconds(30), CancellationToken.None);
                return default;
            }

            Interlocked.Increment(ref _completed);
            return default;
        }
    }
}
