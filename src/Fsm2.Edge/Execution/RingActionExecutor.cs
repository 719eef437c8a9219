using System.Diagnostics;
using System.Numerics;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Execution;

/// <summary>
/// The default executor (40-actions §3–§12): a preallocated request ring of envelope indexes (single producer: the
/// tick thread), N dedicated action threads, and a completion ring back to the tick thread. Envelopes are
/// preallocated objects rented from a tick-owned free stack, so neither enqueue nor the drain of a completion
/// allocates or takes a lock on the tick thread.
/// </summary>
/// <remarks>
/// <para>
/// Sizing: C request cells, E = C + N + leak budget envelopes (so actions abandoned by the stuck scan cannot
/// starve the pool at once), and a completion ring of E rounded up to a power of two, which therefore can never be
/// full: at most E envelopes exist, and each is published at most once per rental.
/// </para>
/// <para>
/// Waking: an idle action thread spins briefly, registers itself as parked (<see cref="Interlocked"/>), checks the
/// ring once more and blocks on a <see cref="SemaphoreSlim"/>. The tick wakes at most one parked thread per tick
/// (<see cref="FlushWakeups"/>), and a thread that finds more work after taking an item wakes the next one.
/// </para>
/// <para>
/// Cancellation: each action thread owns one <see cref="CancellationTokenSource"/> and one timer on the runtime
/// <see cref="TimeProvider"/>, re-armed to T per action (unlike 40-actions §10's <c>CancelAfter</c>: a
/// TimeProvider-backed source cannot be <c>TryReset</c>); the source is reset with <c>TryReset</c> when it was not
/// cancelled and replaced when it was. A cancel request from the tick (removal) marks the envelope and
/// uses <c>CancelAsync</c> on the running thread's source, so cancellation callbacks never run on the tick thread; it
/// matches on the executor-wide ticket, so it can never cancel a later action that reuses the same thread or source.
/// </para>
/// </remarks>
internal sealed class RingActionExecutor : IActionExecutor, IActionCanceller
{
    // Arbitrary: about 20 SpinOnce calls are a few microseconds of pause instructions and yields, long enough to catch
    // the next item of a burst without a futex round trip, short enough not to burn a core between ticks.
    private const int IdleSpinIterations = 20;

    // Enqueues of one tick that share one clock read (EnqueueStamp).
    private const int EnqueueStampReuse = 32;

    // CancelAfter accepts at most uint.MaxValue - 1 milliseconds (about 49.7 days); longer timeouts mean "never".
    private static readonly TimeSpan s_maxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly ActionRing<int> _requests;
    private readonly ActionRing<int> _completions;
    private readonly Envelope[] _envelopes;
    // N states from the constructor, then room for LeakBudget replacements; a slot is reused once its thread exited.
    private readonly ActionThread?[] _threads;
    private readonly int _threadCount;
    private readonly int _leakBudget;
    private readonly Lock _poolLock = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _defaultTimeout;
    private readonly ILogger _logger;
    private readonly EdgeMetrics _metrics;
    private readonly SemaphoreSlim _parkedSignal = new(0);
    private readonly TaskCompletionSource _allExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _stopLock = new();

    // Owner: tick thread. Indexes of free envelopes (a stack: the most recently returned, cache-warm one goes first).
    private readonly int[] _free;
    private int _freeCount;

    // Owner: tick thread. The next executor-wide ticket; 0 means "none", so tickets start at 1.
    private long _nextTicket;

    // Owner: tick thread. The last enqueue stamp and how many more enqueues may reuse it (EnqueueStamp).
    private long _enqueueStamp;
    private int _stampUses;

    // Owner: tick thread. Enqueues not yet added to fsm2_action_queued_total (FlushWakeups adds them once per tick).
    private long _queuedSinceFlush;

    // Owner: tick thread. Something was enqueued since the last FlushWakeups.
    private bool _wakePending;

    // Owner: tick thread. Refusal counts, exported for tests and diagnostics.
    private long _queueFullRefusals;
    private long _envelopeRefusals;
    private long _stoppedRefusals;

    // Owner: tick thread (written before each ring publish); read by Outstanding on any thread.
    private long _enqueuedTotal;

    // Shared counters written by the action threads, each on its own cache line (see ExecutorCounters).
    private ExecutorCounters _shared;

    // Shared: 1 once StopAsync began; read by the tick (enqueue refused) and by action threads (discard, exit).
    private int _stopped;

    // Shared (Interlocked): enqueued, not yet completed; threads executing an action; threads alive.
    private int _alive;
    private int _started;

    // Shared (Interlocked): threads captured by an abandoned synchronous call (40-actions §10).
    private int _leaked;

    // Diagnostics for tests: the managed thread id that last started a replacement, and how many were started.
    private int _replacementStarter;
    private int _replacementsStarted;

    // Owner: _poolLock. Asynchronous actions abandoned at 3T whose tasks still run (40-actions §10).
    private readonly List<DetachedAction> _detached = [];
    private readonly TaskCompletionSource _detachedDrained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Owner: _stopLock. StopAsync is idempotent: the runtime's shutdown and its DisposeAsync both call it.
    private Task<int>? _stopTask;

    /// <summary>Creates the executor; no thread starts before <see cref="Start"/>.</summary>
    /// <param name="capacity">Request ring capacity: a power of two from 16 to 65,536.</param>
    /// <param name="threads">Action threads, 1 to 256.</param>
    /// <param name="defaultTimeout">Timeout of actions without an override.</param>
    /// <param name="time">The runtime clock; timeouts are driven by it (FakeTimeProvider in tests).</param>
    /// <param name="logger">The actions logger.</param>
    /// <param name="metrics">The runtime's instruments.</param>
    /// <exception cref="ArgumentOutOfRangeException">The capacity or the thread count is out of range.</exception>
    public RingActionExecutor(int capacity, int threads, TimeSpan defaultTimeout, TimeProvider time, ILogger logger, EdgeMetrics metrics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threads, 256);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(defaultTimeout, TimeSpan.Zero);
        _requests = new ActionRing<int>(capacity);
        _time = time;
        _defaultTimeout = defaultTimeout;
        _logger = logger;
        _metrics = metrics;

        // 40-actions §10: the leak budget defaults to max(1, N/2) threads captured by synchronous hangs.
        int leakBudget = Math.Max(1, threads / 2);
        _leakBudget = leakBudget;
        _threadCount = threads;
        int envelopeCount = capacity + threads + leakBudget;
        _completions = new ActionRing<int>((int)BitOperations.RoundUpToPowerOf2((uint)envelopeCount), int.MaxValue);
        _envelopes = new Envelope[envelopeCount];
        _free = new int[envelopeCount];
        for (int i = 0; i < envelopeCount; i++)
        {
            _envelopes[i] = new Envelope();
            _free[i] = envelopeCount - 1 - i;
        }

        _freeCount = envelopeCount;
        _threads = new ActionThread[threads + leakBudget];
        for (int i = 0; i < threads; i++)
        {
            _threads[i] = NewThreadState(i);
        }

        metrics.AttachExecutor(this);
    }

    /// <inheritdoc/>
    public int Capacity => _requests.Capacity;

    /// <inheritdoc/>
    /// <remarks>
    /// Enqueued minus completed, two monotonic counters: the tick owns one and the action threads the other, so an
    /// enqueue writes no cache line an action thread writes. The completed count is read first: every completion it
    /// includes was enqueued before, so the difference is never negative.
    /// </remarks>
    public int Outstanding
    {
        get
        {
            long completed = Volatile.Read(ref _shared.Completed);
            return (int)(Volatile.Read(ref _enqueuedTotal) - completed);
        }
    }

    /// <summary>The number of envelopes (request capacity + threads + leak budget).</summary>
    public int EnvelopeCount => _envelopes.Length;

    /// <summary>Free envelopes. Tick-thread affinity.</summary>
    public int FreeEnvelopes => _freeCount;

    /// <summary>Ring occupancy: actions queued and not yet taken by an action thread. Any thread.</summary>
    public int QueueDepth => _requests.Count;

    /// <summary>Threads executing an action right now; never above the live thread count. Any thread.</summary>
    /// <remarks>
    /// Clamped: an exiting thread decrements <c>_alive</c> after its last action, but a reader between two unrelated
    /// Interlocked updates could otherwise see busy above alive for an instant.
    /// </remarks>
    public int BusyThreads => Math.Min(Volatile.Read(ref _shared.Busy), Volatile.Read(ref _alive));

    /// <summary>Threads captured by abandoned synchronous calls; goes down when such a call returns. Any thread.</summary>
    public int LeakedThreads => Volatile.Read(ref _leaked);

    /// <summary>Action threads parked on the wait primitive (idle after their bounded spin). Any thread; diagnostics.</summary>
    internal int ParkedThreads => Volatile.Read(ref _shared.Parked);

    /// <summary>Diagnostics for tests: action threads that wait for the task of an asynchronous action (40-actions §10).</summary>
    internal int AwaitingThreads
    {
        get
        {
            int awaiting = 0;
            foreach (ActionThread? thread in _threads)
            {
                if (thread is not null && Volatile.Read(ref thread.AwaitingTicket) != 0)
                {
                    awaiting++;
                }
            }

            return awaiting;
        }
    }

    /// <summary>Action threads alive (N, plus replacements whose captured thread has not exited yet). Any thread.</summary>
    public int LiveThreads => Volatile.Read(ref _alive);

    /// <summary>The leak budget: at most this many replacement threads are started for captured ones.</summary>
    public int LeakBudget => _leakBudget;

    /// <summary>Diagnostics: the managed thread id that started the latest replacement thread, 0 when none.</summary>
    internal int ReplacementStarterThreadId => Volatile.Read(ref _replacementStarter);

    /// <summary>Diagnostics: replacement threads started so far.</summary>
    internal int ReplacementsStarted => Volatile.Read(ref _replacementsStarted);

    /// <summary>Enqueues refused because the ring was full. Tick-thread affinity.</summary>
    public long QueueFullRefusals => _queueFullRefusals;

    /// <summary>Enqueues refused because no envelope was free. Tick-thread affinity.</summary>
    public long EnvelopeRefusals => _envelopeRefusals;

    /// <summary>Enqueues refused because the executor was stopped. Tick-thread affinity.</summary>
    public long StoppedRefusals => _stoppedRefusals;

    /// <summary>Whether <see cref="StopAsync"/> has begun. Any thread.</summary>
    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <inheritdoc/>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _alive, _threadCount);
        for (int i = 0; i < _threadCount; i++)
        {
            StartThread(_threads[i]!); // the constructor filled the first N slots.
        }
    }

    private void StartThread(ActionThread state)
    {
        var thread = new Thread(static s =>
        {
            var (executor, actionThread) = ((RingActionExecutor, ActionThread))s!;
            executor.RunActionThread(actionThread);
        })
        {
            IsBackground = true,
            Name = $"fsm2-action-{state.Index}",
        };
        thread.Start((this, state));
    }

    private ActionThread NewThreadState(int index)
    {
        var thread = new ActionThread(index, NewTokenSource(), NewTokenSource());
        thread.TimeoutTimer = _time.CreateTimer(static s => ((ActionThread)s!).OnTimeout(), thread, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        return thread;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Abandonment path only, never steady state. If the action's thread only waits for the task ExecuteAsync
    /// returned, the wait is released: the thread detaches the task (its completion is posted whenever it ends) and
    /// returns to the ring. If the abandoned action still holds its thread inside <c>ExecuteAsync</c>, that thread is
    /// captured: it is marked leaked and, while the
    /// leak budget allows, a replacement thread is started from the thread pool, never on the tick thread. With the
    /// budget spent, <c>action_pool_degraded</c> is logged and the pool keeps working with the threads it has.
    /// </remarks>
    public void OnAbandoned(in RunningAction running)
    {
        if ((uint)running.Thread >= (uint)_threads.Length || _threads[running.Thread] is not { } thread)
        {
            return;
        }

        bool replace;
        int leaked;
        lock (thread.Gate)
        {
            if (thread.RunningTicket != running.Ticket || thread.Captured)
            {
                // It ended meanwhile: its completion is merely late and the thread is back in the ring.
                return;
            }

            if (thread.AwaitingTicket == running.Ticket)
            {
                // The thread only waits for the action's task: release the wait, the thread detaches the task and goes
                // back to the ring. The one callback on DetachSource is that wait's own (it sets an event), so cancelling
                // here runs no action code on the tick thread.
                thread.DetachSource.Cancel();
                return;
            }

            // Counted, and the replacement's place in _alive reserved, before the thread can see Captured: when the
            // call returns at once, the thread then always finds the pool above N and exits instead of staying on as
            // an (N+1)th thread next to its replacement.
            leaked = Interlocked.Increment(ref _leaked);
            replace = leaked <= _leakBudget && Volatile.Read(ref _stopped) == 0;
            if (replace)
            {
                Interlocked.Increment(ref _alive);
            }

            thread.Captured = true;
        }

        if (replace)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static executor => executor.StartReplacement(), this, preferLocal: false);
            return;
        }

        Log.ActionPoolDegraded(_logger, leaked, _leakBudget, _threadCount);
    }

    /// <summary>Thread pool: starts one replacement thread in a slot no live thread uses.</summary>
    private void StartReplacement()
    {
        ActionThread? state = null;
        lock (_poolLock)
        {
            if (Volatile.Read(ref _stopped) != 0)
            {
                ReleaseAliveReservation();
                return;
            }

            for (int i = 0; i < _threads.Length; i++)
            {
                ActionThread? existing = _threads[i];
                if (existing is null || existing.Exited)
                {
                    // A fresh state (own token source and timer): the old one may still be referenced by a canceller.
                    existing?.TimeoutTimer?.Dispose();
                    state = NewThreadState(i);
                    Volatile.Write(ref _threads[i], state);
                    break;
                }
            }

            if (state is null)
            {
                // Cannot happen while live threads stay within N + budget; no replacement rather than an exception.
                ReleaseAliveReservation();
                return;
            }
        }

        Volatile.Write(ref _replacementStarter, Environment.CurrentManagedThreadId);
        Interlocked.Increment(ref _replacementsStarted);
        StartThread(state);
    }

    /// <summary>A replacement that will not start gives back the place OnAbandoned reserved for it.</summary>
    private void ReleaseAliveReservation()
    {
        if (Interlocked.Decrement(ref _alive) == 0)
        {
            _allExited.TrySetResult();
        }
    }

    /// <summary>
    /// A captured thread whose call returned: it is no longer leaked, and it exits if the pool is above N (its
    /// replacement took its place). Returns whether the thread must exit; its <c>_alive</c> slot is then released.
    /// </summary>
    private bool ReleaseCaptured()
    {
        Interlocked.Decrement(ref _leaked);
        int alive = Volatile.Read(ref _alive);
        while (alive > _threadCount)
        {
            int seen = Interlocked.CompareExchange(ref _alive, alive - 1, alive);
            if (seen == alive)
            {
                return true;
            }

            alive = seen;
        }

        return false;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// PERF: an envelope index from the tick-owned free stack, field writes into a preallocated envelope and one
    /// lock-free ring publish: 0 B and no lock. Proven by RingActionExecutorTests and
    /// RingBenchmarks.EnqueueDequeuePair.
    /// </remarks>
    public bool TryEnqueue(ActionSlot slot, IAction action, in ActionContext context)
    {
        TimeSpan? overrideTimeout = action.Timeout;
        if (overrideTimeout is { } t && t <= TimeSpan.Zero)
        {
            ThrowNonPositiveTimeout(slot, action, t);
        }

        if (Volatile.Read(ref _stopped) != 0)
        {
            _stoppedRefusals++;
            return false;
        }

        if (_freeCount == 0)
        {
            // Only abandoned executions beyond the slack can hold every envelope (40-actions §6); retried next tick.
            _envelopeRefusals++;
            _metrics.ActionEnvelopesExhausted.Add(1);
            return false;
        }

        int index = _free[--_freeCount];
        Envelope envelope = _envelopes[index];
        long generation = slot.Generation + 1;
        long ticket = ++_nextTicket;
        envelope.Slot = slot;
        envelope.Generation = generation;
        envelope.Ticket = ticket;
        envelope.Action = action;
        envelope.Context = context;
        envelope.Kind = action.Kind;
        envelope.Timeout = overrideTimeout ?? _defaultTimeout;
        envelope.EnqueuedAt = EnqueueStamp();

        // Counted before the publish, so an action thread that completes at once never drives the count below zero.
        long enqueued = _enqueuedTotal;
        Volatile.Write(ref _enqueuedTotal, enqueued + 1);
        if (!_requests.TryEnqueue(index))
        {
            Volatile.Write(ref _enqueuedTotal, enqueued);
            envelope.Clear();
            _free[_freeCount++] = index;
            _queueFullRefusals++;
            return false;
        }

        _wakePending = true;
        slot.Generation = generation;
        slot.InFlight = true;
        slot.InFlightKind = envelope.Kind;
        slot.Canceller = this;
        slot.CancelEnvelope = index;
        slot.CancelTicket = ticket;
        _queuedSinceFlush++;

        if (Volatile.Read(ref _stopped) != 0)
        {
            // StopAsync began between the check above and the publish; its drain may already have run, and the
            // action threads may have exited, so this thread discards what is queued itself.
            DiscardQueued();
        }

        return true;
    }

    /// <summary>
    /// Tick thread: the enqueue stamp behind <c>fsm2_action_queue_wait_seconds</c> (enqueue to start). PERF: a clock read
    /// costs about as much as the rest of an enqueue (≈ 19 ns of ≈ 35 ns on the reference x64 VM, A-36), so one read
    /// serves up to <see cref="EnqueueStampReuse"/> enqueues and <see cref="FlushWakeups"/> (the end of every tick)
    /// forces a fresh one. A stamp is therefore at most that many enqueues of the same tick early (a few µs), never
    /// from an earlier tick; the queue-wait histogram's budgets are in milliseconds.
    /// </summary>
    private long EnqueueStamp()
    {
        if (_stampUses > 0)
        {
            _stampUses--;
            return _enqueueStamp;
        }

        _stampUses = EnqueueStampReuse - 1;
        return _enqueueStamp = _time.GetTimestamp();
    }

    /// <inheritdoc/>
    /// <remarks>
    /// PERF: a tick that enqueued nothing touches nothing shared here; otherwise one counter Add for the tick's enqueues,
    /// one full fence and, only when a thread is parked, one compare-and-swap and one semaphore release (the "wake" of
    /// 70-performance W5). It also ends the reuse of the tick's enqueue stamp.
    /// </remarks>
    public void FlushWakeups()
    {
        _stampUses = 0;
        if (_queuedSinceFlush != 0)
        {
            // One Add per tick, not per enqueue: with a listener attached (the monitoring publisher) every Add runs its
            // callback on the tick thread.
            _metrics.ActionsQueued.Add(_queuedSinceFlush);
            _queuedSinceFlush = 0;
        }

        if (_wakePending)
        {
            _wakePending = false;
            WakeOne();
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// PERF: walks the N action threads (at most N actions run at once) with volatile reads and no lock: 0 B. The
    /// envelope's Slot, Generation, Kind and Timeout are tick-written and stable while it is rented, and the ticket
    /// match proves the thread's envelope index still names that rental (envelopes return to the free stack only on
    /// this thread). An abandoned execution keeps being reported until it ends; its generation no longer matches the
    /// slot's, so the caller skips it.
    /// </remarks>
    public bool TryGetRunning(ref int cursor, out RunningAction running)
    {
        while (cursor < _threads.Length)
        {
            int threadIndex = cursor++;
            if (Volatile.Read(ref _threads[threadIndex]) is not { } thread)
            {
                continue;
            }

            int index = Volatile.Read(ref thread.RunningEnvelope);
            long ticket = Volatile.Read(ref thread.RunningTicket);
            if (index < 0 || ticket == 0)
            {
                continue;
            }

            Envelope envelope = _envelopes[index];
            long started = Volatile.Read(ref envelope.StartedAt);
            if (envelope.Ticket != ticket || started == 0 || envelope.Slot is not { } slot)
            {
                // Between rentals, or claimed but not started yet (a cancelled discard never starts).
                continue;
            }

            running = new RunningAction(slot, envelope.Generation, envelope.Kind!, started, envelope.Timeout, threadIndex, ticket);
            return true;
        }

        running = default;
        return false;
    }

    /// <inheritdoc/>
    /// <remarks>PERF: copies references out of the envelope and pushes its index back on the free stack: 0 B.</remarks>
    public bool TryDequeueCompletion(out ActionCompletion completion)
    {
        if (!_completions.TryDequeueSingle(out int index))
        {
            completion = default;
            return false;
        }

        Envelope envelope = _envelopes[index];
        completion = new ActionCompletion(
            envelope.Slot!, // every published envelope was rented with a slot.
            envelope.Generation,
            envelope.Kind!,
            envelope.Outcome,
            envelope.Error,
            envelope.Duration,
            envelope.CompletedAt);
        envelope.Clear();
        _free[_freeCount++] = index;
        return true;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Removal path only, never steady state: it takes the running thread's gate (held by that thread only for a few
    /// field writes) and uses <see cref="CancellationTokenSource.CancelAsync"/>, which flips the token at once and runs
    /// its callbacks on the thread pool, never on the tick thread (40-actions §12.2).
    /// </remarks>
    public void RequestCancel(int envelope, long ticket)
    {
        if ((uint)envelope >= (uint)_envelopes.Length)
        {
            return;
        }

        Envelope target = _envelopes[envelope];
        if (target.Ticket != ticket)
        {
            // Already drained and possibly rented again: the action it named has completed.
            return;
        }

        _metrics.ActionCancelled.Add(1);

        // Full fence, paired with the consumer's Interlocked write of ThreadIndex before it reads CancelTicket: either
        // the consumer sees the mark and never starts the action, or this thread sees which thread runs it.
        Interlocked.Exchange(ref target.CancelTicket, ticket);
        int threadIndex = Volatile.Read(ref target.ThreadIndex);
        if (threadIndex < 0)
        {
            return;
        }

        if (Volatile.Read(ref _threads[threadIndex]) is not { } thread)
        {
            return;
        }

        CancellationTokenSource? source = null;
        lock (thread.Gate)
        {
            if (thread.RunningTicket == ticket)
            {
                source = thread.Source;
                thread.CancelPending = true;
            }
        }

        _ = source?.CancelAsync();
    }

    /// <inheritdoc/>
    public Task<int> StopAsync(TimeSpan wait)
    {
        lock (_stopLock)
        {
            return _stopTask ??= StopCoreAsync(wait);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        lock (_poolLock)
        {
            foreach (ActionThread? thread in _threads)
            {
                thread?.TimeoutTimer?.Dispose();
            }
        }
    }

    private async Task<int> StopCoreAsync(TimeSpan wait)
    {
        Volatile.Write(ref _stopped, 1);
        Interlocked.MemoryBarrier();
        DiscardQueued();
        for (int i = 0; i < _threads.Length; i++)
        {
            if (Volatile.Read(ref _threads[i]) is { } thread)
            {
                CancelRunning(thread);
            }
        }

        if (Volatile.Read(ref _started) == 0)
        {
            return 0;
        }

        // Asynchronous actions detached at 3T are still this executor's: cancelled like the running ones, waited for
        // within the same bound, and reported abandoned when they outlast it.
        DetachedAction[] detached;
        lock (_poolLock)
        {
            detached = [.. _detached];
            if (detached.Length == 0)
            {
                _detachedDrained.TrySetResult();
            }
        }

        foreach (DetachedAction action in detached)
        {
            try
            {
                action.Source.Cancel();
            }
            catch (AggregateException ex)
            {
                Envelope envelope = _envelopes[action.Index];
                Log.ActionCancelFailed(_logger, envelope.Slot?.WorkerId ?? "", envelope.Kind ?? "", ex.Message);
            }
        }

        // Every parked thread wakes, finds the ring empty and the stop flag set, and exits.
        _parkedSignal.Release(_threads.Length);
        try
        {
            await Task.WhenAll(_allExited.Task, _detachedDrained.Task).WaitAsync(wait, _time).ConfigureAwait(false);
            return 0;
        }
        catch (TimeoutException)
        {
            int abandoned = 0;
            long now = _time.GetTimestamp();
            lock (_poolLock)
            {
                foreach (DetachedAction action in _detached)
                {
                    Envelope envelope = _envelopes[action.Index];
                    abandoned++;
                    Log.ActionShutdownAbandonedAction(_logger, envelope.Slot?.WorkerId ?? "", envelope.Kind ?? "",
                        _time.GetElapsedTime(action.Started, now).TotalMilliseconds);
                }
            }

            foreach (ActionThread? thread in _threads)
            {
                if (thread is null)
                {
                    continue;
                }

                lock (thread.Gate)
                {
                    if (thread.RunningTicket != 0 && thread.RunningEnvelope >= 0)
                    {
                        Envelope envelope = _envelopes[thread.RunningEnvelope];
                        abandoned++;
                        Log.ActionShutdownAbandonedAction(_logger, envelope.Slot?.WorkerId ?? "", envelope.Kind ?? "",
                            _time.GetElapsedTime(thread.StartedAt, now).TotalMilliseconds);
                    }
                }
            }

            _metrics.ActionShutdownAbandoned.Add(abandoned);
            Log.ActionShutdownAbandoned(_logger, abandoned);
            return abandoned;
        }
    }

    /// <summary>Completes every queued, unstarted action as <see cref="ActionOutcome.Cancelled"/> (§12.3).</summary>
    private void DiscardQueued()
    {
        while (_requests.TryDequeue(out int index))
        {
            Publish(index, ActionOutcome.Cancelled, null, TimeSpan.Zero);
        }
    }

    private void RunActionThread(ActionThread self)
    {
        try
        {
            while (true)
            {
                if (_requests.TryDequeue(out int index))
                {
                    if (_requests.Count > 0)
                    {
                        // More work than this thread can take: pass the wake on (40-actions §4).
                        WakeOne();
                    }

                    if (Execute(self, index))
                    {
                        // A captured thread whose replacement took its place: _alive was already released for it.
                        self.Exited = true;
                        return;
                    }

                    continue;
                }

                if (Volatile.Read(ref _stopped) != 0)
                {
                    return;
                }

                if (SpinForWork())
                {
                    continue;
                }

                // Register as parked, then look once more: the producer publishes before it reads _parked, and this
                // thread increments (a full fence) before it reads the ring, so one of the two sees the other.
                Interlocked.Increment(ref _shared.Parked);
                if ((_requests.Count > 0 || Volatile.Read(ref _stopped) != 0) && TryWithdrawParked())
                {
                    continue;
                }

                // Either nothing is queued, or a producer already claimed this registration and owes one release.
                _parkedSignal.Wait();
            }
        }
        finally
        {
            if (!self.Exited)
            {
                self.Exited = true;
                if (Interlocked.Decrement(ref _alive) == 0)
                {
                    _allExited.TrySetResult();
                }
            }
            else if (Volatile.Read(ref _alive) == 0)
            {
                _allExited.TrySetResult();
            }
        }
    }

    private bool SpinForWork()
    {
        var spinner = default(SpinWait);
        for (int i = 0; i < IdleSpinIterations; i++)
        {
            if (_requests.Count > 0 || Volatile.Read(ref _stopped) != 0)
            {
                return true;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return false;
    }

    /// <summary>Undoes one parked registration unless a producer claimed it first (then a release is on its way).</summary>
    private bool TryWithdrawParked()
    {
        int parked = Volatile.Read(ref _shared.Parked);
        while (parked > 0)
        {
            int seen = Interlocked.CompareExchange(ref _shared.Parked, parked - 1, parked);
            if (seen == parked)
            {
                return true;
            }

            parked = seen;
        }

        return false;
    }

    /// <summary>Wakes one parked action thread, if any. Any thread.</summary>
    private void WakeOne()
    {
        // The full fence orders the ring publish before the read of _parked (store-load), pairing with the consumer's
        // Interlocked.Increment before its last look at the ring: no wake-up is lost.
        Interlocked.MemoryBarrier();
        int parked = Volatile.Read(ref _shared.Parked);
        while (parked > 0)
        {
            int seen = Interlocked.CompareExchange(ref _shared.Parked, parked - 1, parked);
            if (seen == parked)
            {
                _parkedSignal.Release();
                return;
            }

            parked = seen;
        }
    }

    /// <returns>Whether this thread was captured by the action and must now exit (40-actions §10).</returns>
    private bool Execute(ActionThread self, int index)
    {
        Envelope envelope = _envelopes[index];
        long ticket = envelope.Ticket;
        long started = _time.GetTimestamp();

        // Published under the thread's gate before the cancel mark is checked; a canceller marks first and then takes
        // the gate, so it either finds this ticket running or this check sees its mark.
        lock (self.Gate)
        {
            self.RunningTicket = ticket;
            self.RunningEnvelope = index;
            self.StartedAt = started;
            Interlocked.Exchange(ref envelope.ThreadIndex, self.Index);
        }

        if (Volatile.Read(ref envelope.CancelTicket) == ticket || Volatile.Read(ref _stopped) != 0)
        {
            lock (self.Gate)
            {
                self.RunningTicket = 0;
                self.RunningEnvelope = -1;
            }

            // Discarded before it started (§12.2, §12.3): started stamp 0, never executed.
            Publish(index, ActionOutcome.Cancelled, null, TimeSpan.Zero);
            return false;
        }

        // Volatile: the tick's stuck scan reads it while the action runs, not only after the completion publish.
        Volatile.Write(ref envelope.StartedAt, started);
        _metrics.ActionQueueWait.Record(_time.GetElapsedTime(envelope.EnqueuedAt, started).TotalSeconds);
        Interlocked.Increment(ref _shared.Busy);
        CancellationTokenSource source = self.Source;
        TimeSpan timeout = envelope.Timeout;
        if (timeout < s_maxTimeout)
        {
            // PERF: the thread's own timer on the runtime clock, re-armed per action, instead of a timer inside the
            // token source: a TimeProvider-backed source cannot be TryReset, so it would be replaced (and its timer
            // left armed) after every action. Change allocates nothing.
            Volatile.Write(ref self.ArmedTicket, ticket);
            self.TimeoutTimer!.Change(timeout, Timeout.InfiniteTimeSpan); // created with the thread in the constructor.
        }

        ActionOutcome outcome;
        Exception? error = null;
        try
        {
            ValueTask run = envelope.Action!.ExecuteAsync(envelope.Context, source.Token); // rented with an action.
            if (run.IsCompletedSuccessfully)
            {
                run.GetAwaiter().GetResult();
            }
            else
            {
                Task pending = run.AsTask();
                if (!AwaitOrDetach(self, pending, ticket))
                {
                    return Detach(self, index, ticket, started, pending, source);
                }

                pending.GetAwaiter().GetResult();
            }

            outcome = ActionOutcome.Success;
            if (source.IsCancellationRequested)
            {
                // §14.1 item 3: a normal return is a success even after cancellation, but it is worth a warning.
                Log.ActionIgnoredCancellation(_logger, envelope.Slot!.WorkerId, envelope.Kind!);
            }
        }
        catch (Exception ex)
        {
            // Contained: the thread survives.
            outcome = Classify(envelope, ticket, source, ex);
            error = ex;
        }

        self.TimeoutTimer!.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        bool replace;
        bool captured;
        lock (self.Gate)
        {
            self.ArmedTicket = 0;
            self.RunningTicket = 0;
            self.RunningEnvelope = -1;
            replace = self.CancelPending || source.IsCancellationRequested;
            self.CancelPending = false;
            captured = self.Captured;
            self.Captured = false;
        }

        // A cancelled source is replaced, never reused (§10); a canceller that captured it may still call Cancel on it,
        // which is harmless once nothing uses it.
        if (replace || !source.TryReset())
        {
            self.Source = NewTokenSource();
        }

        Interlocked.Decrement(ref _shared.Busy);

        // The completion of a captured call is posted like any other; the tick discards it as late.
        Publish(index, outcome, error, _time.GetElapsedTime(started));
        return captured && ReleaseCaptured();
    }

    /// <summary>
    /// The outcome of an action that threw (40-actions §2, §10): an <see cref="OperationCanceledException"/> after its
    /// token fired is <see cref="ActionOutcome.Cancelled"/> when a removal or the shutdown asked for it and
    /// <see cref="ActionOutcome.Timeout"/> otherwise; a Bug-class exception (30-supervision §9.2) is a Panic, every other
    /// one an Error.
    /// </summary>
    private ActionOutcome Classify(Envelope envelope, long ticket, CancellationTokenSource source, Exception exception)
    {
        if (exception is OperationCanceledException && source.IsCancellationRequested)
        {
            bool cancelled = Volatile.Read(ref envelope.CancelTicket) == ticket || Volatile.Read(ref _stopped) != 0;
            return cancelled ? ActionOutcome.Cancelled : ActionOutcome.Timeout;
        }

        return Health.ExceptionClassifier.Classify(exception) == Health.PanicClass.Bug ? ActionOutcome.Panic : ActionOutcome.Error;
    }

    /// <summary>
    /// Action thread: waits for an action's incomplete task, but never beyond its abandonment (40-actions §10: "the thread
    /// stops waiting at 3T"). Returns <see langword="false"/> when the stuck scan abandoned the action while this thread
    /// waited (or before it began to wait): the caller then detaches the task and goes back to the ring.
    /// </summary>
    /// <remarks>
    /// Not steady state for synchronous actions; an asynchronous action already allocated its task. The wait is released
    /// by <see cref="OnAbandoned"/>, which cancels <c>DetachSource</c> under the thread's gate only while this thread
    /// waits for that same ticket, so a later action on this thread can never be released by an earlier abandonment.
    /// </remarks>
    private static bool AwaitOrDetach(ActionThread self, Task pending, long ticket)
    {
        CancellationToken detach;
        lock (self.Gate)
        {
            if (self.Captured)
            {
                if (pending.IsCompleted)
                {
                    // Ended meanwhile: the normal path posts the (late) completion and releases the capture.
                    return true;
                }

                // Abandoned while ExecuteAsync still ran synchronously: no wait at all, the completion is late anyway.
                self.Captured = false;
                self.ReleaseLeakOnDetach = true;
                return false;
            }

            self.AwaitingTicket = ticket;
            detach = self.DetachSource.Token;
        }

        try
        {
            pending.Wait(detach);
        }
        catch (OperationCanceledException) when (detach.IsCancellationRequested)
        {
            // Released by the abandonment; the task may have completed in the same instant.
        }
        catch (AggregateException)
        {
            // The task's own failure: rethrown unwrapped by the caller's GetResult.
        }

        lock (self.Gate)
        {
            self.AwaitingTicket = 0;
            if (self.DetachSource.IsCancellationRequested)
            {
                // A cancelled source is replaced, never reused.
                self.DetachSource.Dispose();
                self.DetachSource = NewTokenSource();
                return pending.IsCompleted;
            }
        }

        return true;
    }

    /// <summary>
    /// Action thread: lets an abandoned asynchronous action finish on its own. Its completion is posted whenever the
    /// task ends (late, so the tick discards it); its envelope stays rented until then (§6); its token source goes with
    /// it. The thread takes a new source and returns to the ring: no thread is lost and none is counted as leaked.
    /// </summary>
    /// <returns>Whether this thread must now exit (it had been captured and its replacement took its place).</returns>
    private bool Detach(ActionThread self, int index, long ticket, long started, Task pending, CancellationTokenSource source)
    {
        self.TimeoutTimer!.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        bool releaseLeak;
        lock (self.Gate)
        {
            self.ArmedTicket = 0;
            self.RunningTicket = 0;
            self.RunningEnvelope = -1;
            self.CancelPending = false;
            self.Source = NewTokenSource();
            releaseLeak = self.ReleaseLeakOnDetach;
            self.ReleaseLeakOnDetach = false;
        }

        var detached = new DetachedAction(this, index, ticket, started, source);
        lock (_poolLock)
        {
            _detached.Add(detached);
        }

        Interlocked.Decrement(ref _shared.Busy);
        _ = pending.ContinueWith(static (task, state) => ((DetachedAction)state!).Complete(task), detached,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        // Counted as leaked by OnAbandoned while ExecuteAsync held the thread: it is free again now.
        return releaseLeak && ReleaseCaptured();
    }

    /// <summary>Any thread: the task of a detached action ended; its late completion is posted like any other.</summary>
    private void CompleteDetached(DetachedAction detached, Task task)
    {
        lock (_poolLock)
        {
            _detached.Remove(detached);
        }

        Envelope envelope = _envelopes[detached.Index];
        ActionOutcome outcome = ActionOutcome.Success;
        Exception? error = null;
        if (!task.IsCompletedSuccessfully)
        {
            try
            {
                task.GetAwaiter().GetResult();
            }
            catch (Exception ex)
            {
                outcome = Classify(envelope, detached.Ticket, detached.Source, ex);
                error = ex;
            }
        }

        // The source is not disposed: StopAsync may still cancel it, and a plain source without a timer holds nothing.
        Publish(detached.Index, outcome, error, _time.GetElapsedTime(detached.Started));
        if (Volatile.Read(ref _stopped) != 0 && DetachedCount == 0)
        {
            _detachedDrained.TrySetResult();
        }
    }

    /// <summary>Asynchronous actions abandoned at 3T whose tasks have not ended yet. Any thread.</summary>
    public int DetachedCount
    {
        get
        {
            lock (_poolLock)
            {
                return _detached.Count;
            }
        }
    }

    /// <summary>Action thread (or StopAsync): writes the result into the envelope and hands it back to the tick.</summary>
    private void Publish(int index, ActionOutcome outcome, Exception? error, TimeSpan duration)
    {
        Envelope envelope = _envelopes[index];
        envelope.Outcome = outcome;
        envelope.Error = error;
        envelope.Duration = duration;

        // Gate 2's stamp (40-actions §8): wall-clock representation of the runtime clock, like CollectedAt.
        envelope.CompletedAt = _time.GetUtcNow().UtcTicks;
        if (outcome == ActionOutcome.Timeout)
        {
            _metrics.ActionTimeouts.Add(1);
        }

        if (outcome is ActionOutcome.Error or ActionOutcome.Panic or ActionOutcome.Timeout)
        {
            Log.ActionFailed(_logger, envelope.Slot!.WorkerId, envelope.Kind!, outcome.ToString(), error?.Message ?? "");
        }

        _metrics.ActionDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome.ToTag()));
        bool published = _completions.TryEnqueueShared(index);
        Debug.Assert(published, "the completion ring holds every envelope, so it can never be full");
        Interlocked.Increment(ref _shared.Completed);
    }

    /// <summary>StopAsync (never the tick thread): cancels whatever <paramref name="thread"/> is running.</summary>
    private void CancelRunning(ActionThread thread)
    {
        CancellationTokenSource? target = null;
        Envelope? envelope = null;
        lock (thread.Gate)
        {
            if (thread.RunningTicket != 0)
            {
                target = thread.Source;
                envelope = _envelopes[thread.RunningEnvelope];
                thread.CancelPending = true;
            }
        }

        if (target is null)
        {
            return;
        }

        try
        {
            target.Cancel();
        }
        catch (AggregateException ex)
        {
            Log.ActionCancelFailed(_logger, envelope?.Slot?.WorkerId ?? "", envelope?.Kind ?? "", ex.Message);
        }
    }

    // A plain source: timeouts come from the thread's TimeoutTimer on the runtime clock, so TryReset can reuse it.
    private static CancellationTokenSource NewTokenSource() => new();

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowNonPositiveTimeout(ActionSlot slot, IAction action, TimeSpan timeout)
        => throw new InvariantViolationException(
            $"worker '{slot.WorkerId}': action '{action.Kind}' has a zero or negative timeout override ({timeout})");


    /// <summary>An asynchronous action abandoned at 3T whose task still runs (40-actions §10); abandonment path only.</summary>
    private sealed class DetachedAction(RingActionExecutor executor, int index, long ticket, long started, CancellationTokenSource source)
    {
        public int Index { get; } = index;

        public long Ticket { get; } = ticket;

        public long Started { get; } = started;

        /// <summary>The token source the action observes; StopAsync cancels it.</summary>
        public CancellationTokenSource Source { get; } = source;

        public void Complete(Task task) => executor.CompleteDetached(this, task);
    }

    /// <summary>One action request in flight, preallocated; rented and returned on the tick thread only.</summary>
    private sealed class Envelope
    {
        // Written by the tick before the ring publish (which orders them for the consumer).
        public ActionSlot? Slot;
        public long Generation;
        public long Ticket;
        public IAction? Action;
        public ActionContext Context;
        public string? Kind;
        public TimeSpan Timeout;
        public long EnqueuedAt;

        // Shared: the ticket a cancel was requested for; written by the tick, read by the action thread.
        public long CancelTicket;

        // Shared: the action thread running it (-1 before it starts); written by that thread, read by the tick.
        public int ThreadIndex = -1;

        // Written by the action thread when the action starts (volatile: the stuck scan reads it while it runs).
        public long StartedAt;

        // Written by the action thread before the completion publish (which orders them for the tick).
        public ActionOutcome Outcome;
        public Exception? Error;
        public TimeSpan Duration;
        public long CompletedAt;

        /// <summary>Tick thread: drops references so a returned envelope keeps no worker or exception alive.</summary>
        public void Clear()
        {
            Slot = null;
            Action = null;
            Context = default;
            Kind = null;
            Error = null;
            Outcome = ActionOutcome.None;
            ThreadIndex = -1;
            StartedAt = 0;
        }
    }

    /// <summary>The state of one action thread that cancellers need to see.</summary>
    private sealed class ActionThread(int index, CancellationTokenSource source, CancellationTokenSource detach)
    {
        public int Index { get; } = index;

        // Guards the fields below between the action thread and cancellers (StopAsync, and the tick's removal cancel,
        // which is never steady state); each holder only writes a few fields under it.
        public Lock Gate { get; } = new();

        public long RunningTicket;
        public int RunningEnvelope = -1;
        public long StartedAt;
        public bool CancelPending;

        // Set by the tick when the running action was abandoned while it held this thread; cleared when it returns.
        public bool Captured;

        // The ticket whose incomplete task this thread waits for (0 when none); OnAbandoned releases the wait.
        public long AwaitingTicket;

        // Cancelled (under Gate, for AwaitingTicket only) to release that wait; replaced after it was cancelled.
        public CancellationTokenSource DetachSource = detach;

        // Set when a thread counted as leaked (captured inside ExecuteAsync) detaches the task ExecuteAsync then returned.
        public bool ReleaseLeakOnDetach;

        // Set by the thread itself when it leaves its loop; its slot may then be reused by a replacement.
        public volatile bool Exited;

        // Owner: the action thread (replaced only by it); read by cancellers under Gate.
        public CancellationTokenSource Source = source;

        // The per-action timeout on the runtime clock, armed for ArmedTicket; created once with the thread.
        public ITimer? TimeoutTimer;
        public long ArmedTicket;

        /// <summary>Timer thread: the armed action ran past its timeout; cancel it if it is still the one running.</summary>
        public void OnTimeout()
        {
            CancellationTokenSource? target = null;
            lock (Gate)
            {
                if (RunningTicket != 0 && RunningTicket == ArmedTicket)
                {
                    target = Source;
                }
            }

            // Outside the lock: the action's cancellation callbacks run here, on the timer thread, never on the tick.
            target?.Cancel();
        }
    }
}

/// <summary>
/// The executor's counters that action threads write on every action, 128 bytes apart and 128 bytes away from the
/// executor's tick-owned fields, so the tick's enqueues and drains never contend with them for a cache line (128, not
/// 64: ARM64 cores prefetch adjacent line pairs).
/// </summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 512)]
internal struct ExecutorCounters
{
    /// <summary>Completions published (Interlocked); Outstanding = enqueued − completed.</summary>
    [System.Runtime.InteropServices.FieldOffset(128)]
    public long Completed;

    /// <summary>Threads executing an action (Interlocked).</summary>
    [System.Runtime.InteropServices.FieldOffset(256)]
    public int Busy;

    /// <summary>Action threads that registered as parked and have not been claimed by a wake (Interlocked only).</summary>
    [System.Runtime.InteropServices.FieldOffset(384)]
    public int Parked;
}
