using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using static Fsm2.Edge.Tests.Execution.ActionExecutorContractTests;

namespace Fsm2.Edge.Tests.Execution;

/// <summary>
/// 40-actions §16 metrics and §14.1 logging of the ring executor. The test thread plays the tick thread.
/// Collectors are bound to this test's instrument objects, so parallel tests with their own EdgeMetrics never mix in.
/// </summary>
public sealed class RingActionExecutorMetricsTests
{
    private static readonly DateTimeOffset s_epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    [Trait("spec", "A-35")]
    public async Task A35_MixOfOutcomes_DurationCountPerOutcomeMatches_QueuedAndWaitSampled_DepthIsRingOccupancy()
    {
        // arrange: one thread, so a blocked action holds everything queued behind it in the ring.
        var time = new FakeTimeProvider(s_epoch);
        using var metrics = new EdgeMetrics(null);
        using var durations = new MetricCollector<double>(metrics.ActionDuration);
        using var queued = new MetricCollector<long>(metrics.ActionsQueued);
        using var waits = new MetricCollector<double>(metrics.ActionQueueWait);
        using var depth = new MetricCollector<int>(metrics.ActionQueueDepth);
        using var busy = new MetricCollector<int>(metrics.ActionThreadsBusy);
        await using var executor = new RingActionExecutor(16, 1, TimeSpan.FromSeconds(30), time, NullLogger.Instance, metrics);
        executor.Start();
        var ok = new RecordingAction();
        var throwing = new ThrowingAction(() => new IOException("no"));
        var cooperative = new CooperativeAction(TimeSpan.FromSeconds(1));
        var hang = new HangingAction();

        // act 1: the mix — 3 successes, 2 errors, 1 timeout.
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Enqueue(executor, NewSlot($"ok{i}"), ok, time));
        }

        for (int i = 0; i < 2; i++)
        {
            Assert.True(Enqueue(executor, NewSlot($"err{i}"), throwing, time));
        }

        DrainUntil(executor, 5);
        Assert.True(Enqueue(executor, NewSlot("slow"), cooperative, time));
        await Wait.For(cooperative.Started, "the cooperative action to start");
        time.Advance(TimeSpan.FromSeconds(1));
        DrainUntil(executor, 1);
        IReadOnlyList<CollectedMeasurement<double>> mix = durations.GetMeasurementSnapshot();

        // act 2: the only thread blocked, three actions queued behind it.
        Assert.True(Enqueue(executor, NewSlot("hang"), hang, time));
        Wait.Until(() => hang.Running == 1, "the hanging action to start");
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Enqueue(executor, NewSlot($"behind{i}"), ok, time));
        }

        depth.RecordObservableInstruments();
        busy.RecordObservableInstruments();
        int occupancy = executor.QueueDepth;
        hang.Release();
        DrainUntil(executor, 4);

        // assert
        int Count(string outcome) => mix.Count(m => (string?)m.Tags["outcome"] == outcome);
        Assert.Equal(3, Count("success"));
        Assert.Equal(2, Count("error"));
        Assert.Equal(1, Count("timeout"));
        Assert.Equal(6, mix.Count);
        Assert.Equal(10, queued.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(10, waits.GetMeasurementSnapshot().Count);
        Assert.Equal(3, occupancy);
        Assert.Equal(occupancy, depth.LastMeasurement!.Value);
        Assert.Equal(1, busy.LastMeasurement!.Value);
    }

    [Fact]
    [Trait("spec", "A-34")]
    public async Task A34_ReturnsNormallyAfterTokenCancelled_SuccessAndExactlyOneIgnoredCancellationWarning()
    {
        // arrange: T = 1 s on the fake clock; the action waits for its token, then returns instead of throwing.
        var time = new FakeTimeProvider(s_epoch);
        using var metrics = new EdgeMetrics(null);
        var logger = new FakeLogger();
        await using var executor = new RingActionExecutor(16, 1, TimeSpan.FromSeconds(30), time, logger, metrics);
        executor.Start();
        var action = new ReturnsAfterCancellationAction(TimeSpan.FromSeconds(1));
        Assert.True(Enqueue(executor, NewSlot("w"), action, time));
        await Wait.For(action.Started, "the action to start");

        // act
        time.Advance(TimeSpan.FromSeconds(1));
        ActionCompletion completion = DrainUntil(executor, 1).Single();

        // assert
        Assert.Equal(ActionOutcome.Success, completion.Outcome);
        FakeLogRecord warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Name == "action_ignored_cancellation");
        Assert.Equal(4005, warning.Id.Id);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Name == "action_failed");
    }

    /// <summary>Observes its token being cancelled, then returns normally (ignores the cancellation).</summary>
    private sealed class ReturnsAfterCancellationAction(TimeSpan timeout) : IAction
    {
        private readonly TaskCompletionSource<bool> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Kind => "ignores-cancel";

        public TimeSpan? Timeout => timeout;

        public Task<bool> Started => _started.Task;

        public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using CancellationTokenRegistration registration = cancellationToken.Register(() => cancelled.TrySetResult());
            _started.TrySetResult(true);
            await cancelled.Task;
        }
    }
}
