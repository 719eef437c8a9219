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
            Volatile.Write(ref loop.Pending, 1);
            CancellationTokenSource? wake = Volatile.Read(ref loop.Wake);
            if (wake is not null)
            {
                _ = wake.CancelAsync();
            }
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

            using var wake = CancellationTokenSource.CreateLinkedTokenSource(stop);
            Volatile.Write(ref loop.Wake, wake);
            try
            {
                if (Volatile.Read(ref loop.Pending) == 0)
                {
                    await Task.Delay(remaining, _time, wake.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // Woken by a collection request, or stopped: the loop condition decides.
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
        public CancellationTokenSource? Wake;
    }
}
