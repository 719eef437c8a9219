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
    private readonly Dispatcher _dispatcher;

    // Owner: tick thread. Loops whose collection was requested during this tick (RequestCollection).
    private Loop?[] _batch = new Loop?[64];
    private int _batchCount;

    // Handed over by FlushRequests to the dispatcher (which owns them until it clears _dispatching).
    private Loop?[] _wakeBatch = new Loop?[64];
    private int _wakeCount;

    // 1 while the dispatcher owns _wakeBatch (Interlocked / Volatile).
    private int _dispatching;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="time">The clock for intervals and waits.</param>
    /// <param name="logger">Where stuck loops are reported.</param>
    public LoopObservationScheduler(TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _time = time;
        _logger = logger;
        _dispatcher = new Dispatcher(this);
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
    /// <remarks>
    /// PERF: the tick calls this after every action completion (1,000 per tick in A-36's load). Waking a loop means
    /// completing its TaskCompletionSource, which queues the loop's state machine to the thread pool: about 50 ns on the
    /// reference VM, more than the executor's whole tick-side share of an action. So the request only marks the loop
    /// (a plain store; the loop's own check of <c>Pending</c> already covers a request made while it collects) and
    /// appends it once to a tick-owned batch; <see cref="FlushRequests"/> hands the batch to one thread-pool work item
    /// at the end of the tick, which wakes them all. 0 B in steady state (the batch grows only past its high-water mark).
    /// </remarks>
    public void RequestCollection(Collector collector)
    {
        ArgumentNullException.ThrowIfNull(collector);
        if (collector.SchedulerState is Loop loop)
        {
            Volatile.Write(ref loop.Pending, 1);
            if (Volatile.Read(ref loop.Queued) != 0)
            {
                // Already in a batch that has not been woken yet.
                return;
            }

            Volatile.Write(ref loop.Queued, 1);
            if (_batchCount == _batch.Length)
            {
                Array.Resize(ref _batch, _batch.Length * 2);
            }

            _batch[_batchCount++] = loop;
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Swaps the tick's batch with the dispatcher's and queues the dispatcher (a cached work item: 0 B). While the
    /// previous batch is still being woken, the tick keeps adding to its own and hands it over at a later tick's end.
    /// </remarks>
    public void FlushRequests()
    {
        if (_batchCount == 0 || Interlocked.CompareExchange(ref _dispatching, 1, 0) != 0)
        {
            return;
        }

        (_batch, _wakeBatch) = (_wakeBatch, _batch);
        _wakeCount = _batchCount;
        _batchCount = 0;
        if (_batch.Length < _wakeBatch.Length)
        {
            // Keep both buffers at the high-water mark, so the tick's side stops growing once warm.
            Array.Resize(ref _batch, _wakeBatch.Length);
        }

        ThreadPool.UnsafeQueueUserWorkItem(_dispatcher, preferLocal: false);
    }

    /// <summary>Thread pool: wakes every loop of the handed-over batch, then lets the tick hand over the next one.</summary>
    private void WakeBatch()
    {
        Loop?[] batch = _wakeBatch;
        int count = _wakeCount;
        for (int i = 0; i < count; i++)
        {
            Loop loop = batch[i]!; // the tick filled [0, count).
            batch[i] = null;

            // Cleared before the wake: a request from the next tick that sees 0 queues the loop again, and one that still
            // sees 1 is covered, because Pending was set before it and the loop checks Pending after every collection.
            Volatile.Write(ref loop.Queued, 0);
            _ = Volatile.Read(ref loop.Wake)?.TrySetResult();
        }

        Volatile.Write(ref _dispatching, 0);
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

    /// <summary>The cached thread-pool work item that runs <see cref="WakeBatch"/>.</summary>
    private sealed class Dispatcher(LoopObservationScheduler scheduler) : IThreadPoolWorkItem
    {
        public void Execute() => scheduler.WakeBatch();
    }

    private sealed class Loop : IDisposable
    {
        public readonly CancellationTokenSource Stop = new();

        public void Dispose() => Stop.Dispose();

        public Task? Task;
        public int Pending;
        public TaskCompletionSource? Wake;

        // 1 from RequestCollection putting the loop into the tick's batch until the dispatcher wakes it.
        public int Queued;
    }
}
