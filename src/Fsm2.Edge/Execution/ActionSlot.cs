using System.Diagnostics;

namespace Fsm2.Edge.Execution;

/// <summary>
/// The per-worker action bookkeeping that enforces "at most one action in flight". One slot per node; it survives
/// worker re-creation so a late completion of an older instance is recognised by its generation and discarded.
/// </summary>
[DebuggerDisplay("gen {Generation} inflight={InFlight} last={LastOutcome}")]
internal sealed class ActionSlot
{
    // Shared: written by an action thread while it runs this slot's action, read by the tick thread to cancel it.
    private CancellationTokenSource? _running;
    private long _runningGeneration;

    // Shared: written by the tick thread, read by action threads before and after they start the action.
    private long _cancelRequestedGeneration;

    public ActionSlot(string workerId) => WorkerId = workerId;

    public string WorkerId { get; }

    /// <summary>The node that owns this slot (a <c>SupervisorNode</c>); completions are routed to it.</summary>
    public object? Owner { get; init; }

    // Owner: tick thread.
    public bool InFlight { get; set; }

    // Owner: tick thread. Bumped on every enqueue; completions of other generations are late and discarded.
    public long Generation { get; set; }

    // Owner: tick thread. Gate 1 (40-actions §8): CollectedAt (UTC ticks) of the observation Next last saw; while an
    // action is in flight, Next runs again only on a strictly newer one, so it never re-decides on identical data.
    public long SeenCollectedAt { get; set; }

    // Owner: tick thread. Gate 2: the accepted completion's stamp (UTC ticks, 0 = not armed); Next waits for an
    // observation whose collection started after the action ended, so it never decides on pre-action data.
    public long GateCompletedAt { get; set; }

    // Owner: tick thread.
    public ActionOutcome LastOutcome { get; set; }

    // Owner: tick thread.
    public string? LastError { get; set; }

    // Owner: tick thread.
    public string? LastKind { get; set; }

    // Owner: tick thread. UTC ticks of the last accepted completion, 0 when none.
    public long LastCompletedAt { get; set; }

    // Owner: tick thread.
    public string? InFlightKind { get; set; }

    // Owner: tick thread. UTC ticks of the in-flight action's enqueue.
    public long InFlightSince { get; set; }

    // Owner: tick thread. The generation whose action_stuck warning was logged, so it is logged once per action.
    public long StuckWarnedGeneration { get; set; }

    // Owner: tick thread. Whether the in-flight action was emitted while the worker was shutting down.
    public bool EmittedDuringShutdown { get; set; }

    // Owner: tick thread. Backoff (§11): failures since the last success, and the instant (UTC ticks, 0 = none)
    // before which no action is enqueued. Per worker, not per kind, so alternating kinds does not escape it.
    public int ConsecutiveFailures { get; set; }

    // Owner: tick thread.
    public long RetryNotBefore { get; set; }

    /// <summary>Cold data: the last results, allocated on the first completion so idle workers cost nothing.</summary>
    public ActionHistory? History { get; private set; }

    /// <summary>Tick thread: the compact view handed to <c>Next</c>; a struct copy, no allocation.</summary>
    public ActionStatus Status => new(
        InFlight ? InFlightKind : null,
        InFlight ? InFlightSince : 0,
        LastKind,
        LastOutcome,
        LastError,
        LastCompletedAt,
        ConsecutiveFailures,
        RetryNotBefore);

    /// <summary>Tick thread: appends one accepted result to the history.</summary>
    public void AppendHistory(in ActionHistoryEntry entry) => (History ??= new ActionHistory()).Append(in entry);

    // Owner: tick thread. Written by an executor that cancels through its own envelopes (the ring executor) when it
    // accepts an enqueue: where a cancel request for the in-flight action must go. Null for the Channels baseline,
    // which cancels through the token source published with SetRunning.
    public IActionCanceller? Canceller { get; set; }

    // Owner: tick thread. The envelope and executor-wide ticket of the in-flight action (valid with Canceller).
    public int CancelEnvelope { get; set; } = -1;

    // Owner: tick thread.
    public long CancelTicket { get; set; }

    /// <summary>Tick thread: requests cancellation of the in-flight generation without waiting.</summary>
    public void RequestCancel()
    {
        if (Canceller is { } canceller && InFlight)
        {
            canceller.RequestCancel(CancelEnvelope, CancelTicket);
        }

        long generation = Generation;
        Volatile.Write(ref _cancelRequestedGeneration, generation);
        CancellationTokenSource? running = Volatile.Read(ref _running);
        if (running is not null && Volatile.Read(ref _runningGeneration) == generation)
        {
            // CancelAsync: the action's cancellation callbacks must never run on the tick thread.
            try
            {
                _ = running.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // The action completed between the read and the cancel; nothing left to cancel.
            }
        }
    }

    /// <summary>Action thread: whether the tick asked to cancel <paramref name="generation"/>.</summary>
    public bool IsCancelRequested(long generation) => Volatile.Read(ref _cancelRequestedGeneration) >= generation;

    /// <summary>Action thread: publishes the running action's token source, then re-checks for a missed cancel.</summary>
    public void SetRunning(CancellationTokenSource source, long generation)
    {
        Volatile.Write(ref _runningGeneration, generation);
        Volatile.Write(ref _running, source);
        if (IsCancelRequested(generation))
        {
            source.Cancel();
        }
    }

    /// <summary>Action thread: the action ended.</summary>
    public void ClearRunning(CancellationTokenSource source) => Interlocked.CompareExchange(ref _running, null, source);
}
