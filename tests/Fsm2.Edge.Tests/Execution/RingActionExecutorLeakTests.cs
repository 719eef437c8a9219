using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Tests.TestSupport;
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
