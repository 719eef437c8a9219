using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Execution;

/// <summary>
/// Where actions leave the tick thread. <see cref="TryEnqueue"/> and <see cref="TryDequeueCompletion"/> are called by
/// the tick thread only; they never block, and in steady state they allocate nothing.
/// </summary>
internal interface IActionExecutor : IAsyncDisposable
{
    /// <summary>The queue capacity (for logs).</summary>
    int Capacity { get; }

    /// <summary>Actions enqueued whose completion has not been handed back yet (queued or running). Any thread.</summary>
    int Outstanding { get; }

    /// <summary>Ring occupancy: actions queued and not yet taken by an action thread (0 when not tracked). Any thread.</summary>
    int QueueDepth => 0;

    /// <summary>Threads executing an action, never above the live thread count (0 when not tracked). Any thread.</summary>
    int BusyThreads => 0;

    /// <summary>Threads captured by abandoned synchronous actions (0 when not tracked). Any thread.</summary>
    int LeakedThreads => 0;

    /// <summary>Starts the action threads.</summary>
    void Start();

    /// <summary>
    /// Tick thread: hands <paramref name="action"/> over. On success marks the slot in flight with a new generation.
    /// </summary>
    /// <returns><see langword="false"/> when the queue is full: nothing was enqueued and the slot is unchanged.</returns>
    /// <exception cref="InvariantViolationException">The action's timeout override is zero or negative.</exception>
    bool TryEnqueue(ActionSlot slot, IAction action, in ActionContext context);

    /// <summary>
    /// Tick thread, after the last enqueue of a tick (the runtime calls it at the end of every tick): wakes a parked
    /// action thread if anything was enqueued since the previous call, and settles per-tick bookkeeping (the ring
    /// executor adds the tick's enqueues to <c>fsm2_action_queued_total</c> here). Executors whose consumers wake
    /// themselves need not override it.
    /// </summary>
    void FlushWakeups()
    {
    }

    /// <summary>
    /// Tick thread: the next action being executed at or after <paramref name="cursor"/> (start at 0), for the stuck
    /// scan of 40-actions §10. Executors that cannot report their running actions return <see langword="false"/>, and
    /// their actions are then never declared stuck or abandoned.
    /// </summary>
    bool TryGetRunning(ref int cursor, out RunningAction running)
    {
        running = default;
        return false;
    }

    /// <summary>
    /// Tick thread: the worker gave up on <paramref name="running"/> at 3T (40-actions §10). The executor decides
    /// what happens to the thread that still executes it; it must not block and must not start threads here.
    /// </summary>
    void OnAbandoned(in RunningAction running)
    {
    }

    /// <summary>Tick thread: takes one completion, if any.</summary>
    bool TryDequeueCompletion(out ActionCompletion completion);

    /// <summary>
    /// Stops accepting work, discards queued actions that have not started (as cancelled), cancels running ones and
    /// waits at most <paramref name="wait"/> for the action threads.
    /// </summary>
    /// <returns>How many actions were still running when the wait ended (abandoned).</returns>
    Task<int> StopAsync(TimeSpan wait);
}
