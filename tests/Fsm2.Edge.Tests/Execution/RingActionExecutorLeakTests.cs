using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using static Fsm2.Edge.Tests.Execution.ActionExecutorContractTests;

namespace Fsm2.Edge.Tests.Execution;

/// <summary>
/// 40-actions §10 "what happens to the thread": captured threads, replacements and the leak budget. The test
/// thread plays the tick, including the abandonment that the stuck scan performs at 3T.
/// </summary>
public sealed class RingActionExecutorLeakTests
{
    private static readonly DateTimeOffset s_epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    [Trait("spec", "A-18")]
    public async Task A18_AbandonedSynchronousCall_ReplacementKeepsNThreads_ExtraExitsOnReturn_BudgetSpentLogsDegraded()
    {
        // arrange: N = 2, so the leak budget is 1.
        var time = new FakeTimeProvider(s_epoch);
        using var metrics = new EdgeMetrics(null);
        using var leakedGauge = new MetricCollector<int>(metrics.ActionThreadsLeaked);
        var logger = new FakeLogger();
        await using var executor = new RingActionExecutor(16, 2, TimeSpan.FromSeconds(30), time, logger, metrics);
        executor.Start();
        var captor = new HangingAction();
        var others = new HangingAction();
        var second = new HangingAction();
        try
        {
            Assert.Equal(1, executor.LeakBudget);
            Assert.True(Enqueue(executor, NewSlot("captor"), captor, time));
            Wait.Until(() => captor.Running == 1, "the captor to start");

            // act 1: abandon it while it holds its thread synchronously.
            AbandonAll(executor);
            Wait.Until(() => executor.ReplacementsStarted == 1 && executor.LiveThreads == 3, "a replacement thread");
            leakedGauge.RecordObservableInstruments();

            // assert 1: leaked, replaced from a thread other than the tick, and N threads are usable.
            Assert.Equal(1, executor.LeakedThreads);
            Assert.Equal(1, leakedGauge.LastMeasurement!.Value);
            Assert.NotEqual(0, executor.ReplacementStarterThreadId);
            Assert.NotEqual(Environment.CurrentManagedThreadId, executor.ReplacementStarterThreadId);
            Assert.True(Enqueue(executor, NewSlot("o1"), others, time));
            Assert.True(Enqueue(executor, NewSlot("o2"), others, time));
            Wait.Until(() => others.Running == 2, "two actions to run next to the captured call");
            Assert.Equal(3, executor.BusyThreads);
            others.Release();
            DrainUntil(executor, 2);

            // act 2: the captured call returns.
            captor.Release();
            ActionCompletion late = DrainUntil(executor, 1).Single();
            Wait.Until(() => executor.LiveThreads == 2 && executor.LeakedThreads == 0, "the extra thread to exit");
            leakedGauge.RecordObservableInstruments();

            // assert 2: its completion is still posted (the tick discards it by generation), and the gauge went down.
            Assert.Equal("captor", late.Slot.WorkerId);
            Assert.Equal(0, leakedGauge.LastMeasurement!.Value);
            Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Name == "action_pool_degraded");

            // act 3: capture both threads; the budget allows one replacement only.
            Assert.True(Enqueue(executor, NewSlot("s1"), second, time));
            Assert.True(Enqueue(executor, NewSlot("s2"), second, time));
            Wait.Until(() => second.Running == 2, "both threads to be held");
            AbandonAll(executor);
            Wait.Until(() => executor.ReplacementsStarted == 2 && executor.LiveThreads == 3, "the one allowed replacement");

            // assert 3: degraded at Critical, no further thread, and the pool still works with the thread it has.
            FakeLogRecord degraded = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Name == "action_pool_degraded");
            Assert.Equal(LogLevel.Critical, degraded.Level);
            Assert.Equal(2, executor.LeakedThreads);
            var normal = new RecordingAction();
            Assert.True(Enqueue(executor, NewSlot("after"), normal, time));
            Assert.Equal(ActionOutcome.Success, DrainUntil(executor, 1).Single().Outcome);
            Assert.Equal(2, executor.ReplacementsStarted);
            Assert.Equal(3, executor.LiveThreads);

            // act 4: both captured calls return.
            second.Release();
            DrainUntil(executor, 2);
            Wait.Until(() => executor.LiveThreads == 2 && executor.LeakedThreads == 0, "the pool back to N");
        }
        finally
        {
            captor.Release();
            others.Release();
            second.Release();
        }
    }

    [Fact]
    [Trait("spec", "A-18")]
    public async Task A18_AbandonedAsynchronousAction_ThreadStopsWaitingAndReturnsToRing_NoLeak_LateCompletionPosted()
    {
        // arrange: one thread, so the second action can only run if the abandonment gave that thread back.
        var time = new FakeTimeProvider(s_epoch);
        using var metrics = new EdgeMetrics(null);
        await using var executor = new RingActionExecutor(16, 1, TimeSpan.FromSeconds(30), time, new FakeLogger(), metrics);
        executor.Start();
        var awaiting = new AwaitingAction();
        try
        {
            // act 1: the stuck scan abandons it at 3T.
            StartAndAbandon(executor, awaiting, time);
            Wait.Until(() => executor.BusyThreads == 0, "the thread to stop waiting");

            // assert 1: nothing leaked or replaced; the task is detached and the envelope stays with it (§6).
            Assert.Equal(0, executor.LeakedThreads);
            Assert.Equal(0, executor.ReplacementsStarted);
            Assert.Equal(1, executor.LiveThreads);
            Assert.Equal(1, executor.DetachedCount);
            Assert.Equal(1, executor.Outstanding);

            // act 2: the only thread runs the next action while the abandoned task is still pending.
            var next = new RecordingAction();
            Assert.True(Enqueue(executor, NewSlot("next"), next, time));
            ActionCompletion nextDone = DrainUntil(executor, 1).Single();

            // assert 2
            Assert.Equal("next", nextDone.Slot.WorkerId);
            Assert.Equal(ActionOutcome.Success, nextDone.Outcome);
            Assert.Equal(1, next.Runs);

            // act 3: the abandoned task ends.
            awaiting.Release();
            ActionCompletion late = DrainUntil(executor, 1).Single();

            // assert 3: its completion is posted (the tick discards it by generation) and its envelope comes back.
            Assert.Equal("awaiting", late.Slot.WorkerId);
            Assert.Equal(ActionOutcome.Success, late.Outcome);
            Assert.Equal(0, executor.DetachedCount);
            Assert.Equal(0, executor.Outstanding);
            Assert.Equal(executor.EnvelopeCount, executor.FreeEnvelopes);
        }
        finally
        {
            awaiting.Release();
        }
    }

    [Fact]
    [Trait("spec", "A-28")]
    public async Task A28_StopAsync_DetachedAsynchronousAction_CancelledAndWaitedFor()
    {
        // arrange: an abandoned asynchronous action that honours its token, detached from its thread.
        var time = new FakeTimeProvider(s_epoch);
        using var metrics = new EdgeMetrics(null);
        await using var executor = new RingActionExecutor(16, 1, TimeSpan.FromSeconds(30), time, new FakeLogger(), metrics);
        executor.Start();
        var awaiting = new AwaitingAction();
        try
        {
            StartAndAbandon(executor, awaiting, time);
            Wait.Until(() => executor.DetachedCount == 1, "the task to be detached");

            // act: shutdown cancels it; it ends on its token.
            int abandoned = await executor.StopAsync(TimeSpan.FromSeconds(30)).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

            // assert: not reported abandoned; its completion is Cancelled (the shutdown asked for it).
            Assert.Equal(0, abandoned);
            Assert.Equal(ActionOutcome.Cancelled, DrainUntil(executor, 1).Single().Outcome);
            Assert.Equal(0, executor.DetachedCount);
        }
        finally
        {
            awaiting.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="awaiting"/> until its thread waits for the pending task, then abandons it as the stuck scan
    /// does at 3T. (Abandoned while ExecuteAsync still runs, the thread is captured instead: A18_AbandonedSynchronousCall.)
    /// </summary>
    private static void StartAndAbandon(RingActionExecutor executor, AwaitingAction awaiting, TimeProvider time)
    {
        Assert.True(Enqueue(executor, NewSlot("awaiting"), awaiting, time));
        Wait.Until(() => awaiting.Started == 1 && executor.AwaitingThreads == 1, "the thread to wait for the action's pending task");
        AbandonAll(executor);
    }

    /// <summary>Returns an incomplete task that ends when released, or when its token fires if it honours it.</summary>
    private sealed class AwaitingAction : IAction
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;

        public string Kind => "await";

        public int Started => Volatile.Read(ref _started);

        public void Release() => _release.TrySetResult();

        public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            await _release.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What the tick does at 3T for every running action: the stuck scan hands each to OnAbandoned.</summary>
    private static void AbandonAll(RingActionExecutor executor)
    {
        var running = new List<RunningAction>();
        int cursor = 0;
        while (executor.TryGetRunning(ref cursor, out RunningAction action))
        {
            running.Add(action);
        }

        Assert.NotEmpty(running);
        foreach (RunningAction action in running)
        {
            executor.OnAbandoned(in action);
        }
    }
}
