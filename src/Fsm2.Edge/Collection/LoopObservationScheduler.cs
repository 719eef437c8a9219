using Fsm2.Edge.Observability;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Collection;

/// <summary>
/// The production scheduler: one async loop per collector on the thread pool, timed by the injected
/// <see cref="TimeProvider"/>. Collections run at a fixed rate of <see cref="Collector.Interval"/>.
/// </summary>
public sealed class LoopObservationScheduler : IObservationScheduler
{
    /// <summary>How long a stopped loop may take to exit before an Error is logged.</summary>
    public static readonly TimeSpan CollectorStopWait = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="time">The clock for intervals and waits.</param>
    /// <param name="logger">Where stuck loops are reported.</param>
    public LoopObservationScheduler(TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc/>
    public void Start(Collector collector)
    {
        ArgumentNullException.ThrowIfNull(collector);
        var loop = new Loop();
        collector.SchedulerState = loop;
        loop.Task = Task.Run(() => RunAsync(collector, loop));
    }

    /// <inheritdoc/>
    public void Restart(Collector collector)
    {
        Stop(collector);
        Start(collector);
    }

    /// <inheritdoc/>
    public void Stop(Collector collector)
    {
        ArgumentNullException.ThrowIfNull(collector);
        if (collector.SchedulerState is not Loop loop)
        {
            return;
        }

        collector.SchedulerState = null;

        // CancelAsync: the loop's continuations must never run on the tick thread.
        _ = loop.Stop.CancelAsync();
        _ = WatchStopAsync(collector.WorkerId, loop);
    }

    /// <inheritdoc/>
    public void RequestCollection(Collector collector)
    {
        ArgumentNullException.ThrowIfNull(collector);
        if (collector.SchedulerState is Loop loop)
        {
            // PERF: the tick calls this after every action completion. Completing a TaskCompletionSource created with
            // RunContinuationsAsynchronously queues the waiting loop's state machine to the thread pool without
            // allocating (CancellationTokenSource.CancelAsync allocated a Task per request on the tick thread).
            Volatile.Write(ref loop.Pending, 1);
            _ = Volatile.Read(ref loop.Wake)?.TrySetResult();
        }
    }

    private async Task RunAsync(Collector collector, Loop loop)
    {
        CancellationToken stop = loop.Stop.Token;
        while (!stop.IsCancellationRequested)
        {
            Volatile.Write(ref loop.Pending, 0);
            long started = _time.GetTimestamp();
            await collector.CollectOnceAsync(stop).ConfigureAwait(false);
            TimeSpan remaining = collector.Interval - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero || Volatile.Read(ref loop.Pending) != 0)
            {
                continue;
            }

            // One wake-up source for the three reasons to stop waiting: the interval (a timer on the runtime clock), a
            // collection request (RequestCollection completes it) and stop. The loop condition decides which it was.
            var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref loop.Wake, wake);
            try
            {
                using ITimer interval = _time.CreateTimer(static s => ((TaskCompletionSource)s!).TrySetResult(), wake, remaining, Timeout.InfiniteTimeSpan);
                using CancellationTokenRegistration stopped = stop.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), wake);
                if (Volatile.Read(ref loop.Pending) == 0)
                {
                    await wake.Task.ConfigureAwait(false);
                }
            }
            finally
            {
                Volatile.Write(ref loop.Wake, null);
            }
        }
    }

    private async Task WatchStopAsync(string workerId, Loop loop)
    {
        try
        {
            await loop.Task!.WaitAsync(CollectorStopWait, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.CollectorStuck(_logger, workerId, CollectorStopWait.TotalSeconds);
        }
        finally
        {
            loop.Dispose();
        }
    }

    private sealed class Loop : IDisposable
    {
        public readonly CancellationTokenSource Stop = new();

        public void Dispose() => Stop.Dispose();

        public Task? Task;
        public int Pending;
        public TaskCompletionSource? Wake;
    }
}
