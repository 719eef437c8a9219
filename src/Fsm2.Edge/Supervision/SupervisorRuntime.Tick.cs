using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorRuntime
{
    // Owner: Start (once). The dedicated tick thread and what wakes it.
    private Thread? _tickThread;
    private ITimer? _wakeTimer;
    // spinCount 0: the tick thread waits out a whole interval, so spinning first only burns CPU. It also makes the event
    // allocate its lazily created lock object (24 B, on the first wait that blocks) during warm-up instead of in
    // whichever steady-state wait first misses the spin window (SupervisorRuntimeAllocationTests measures the tick
    // thread across waits).
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _tickThreadExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _overruns;

    /// <summary>Completes when the tick thread has stopped; faults when an invariant violation stopped it.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Ticks that started late because the previous one overran (missed ticks are not replayed).</summary>
    public long TickOverruns => Interlocked.Read(ref _overruns);

    /// <summary>Whether the tick thread has been started.</summary>
    public bool IsStarted => _tickThread is not null;

    /// <summary>Starts the dedicated tick thread and the action threads.</summary>
    /// <exception cref="InvalidOperationException">Already started, or a manual tick is running.</exception>
    public void Start()
    {
        if (Interlocked.CompareExchange(ref _tickThread, new Thread(TickLoop) { IsBackground = true, Name = "fsm2-tick" }, null) is not null)
        {
            throw new InvalidOperationException("the runtime is already started");
        }

        _executor.Start();
        _wakeTimer = _time.CreateTimer(static s => ((ManualResetEventSlim)s!).Set(), _wake, Options.TickInterval, Options.TickInterval);
        _tickThread.Start();
    }

    /// <summary>
    /// Manual mode: runs one tick synchronously on the calling thread, which acts as the tick thread meanwhile.
    /// Cancellation is checked between nodes; a node's own steps are never interrupted halfway.
    /// </summary>
    /// <param name="cancellationToken">Checked before the tick and between nodes.</param>
    /// <exception cref="InvalidOperationException">The tick thread is running, or another tick is in progress (concurrently or re-entrantly).</exception>
    /// <exception cref="OperationCanceledException">The token is cancelled.</exception>
    /// <exception cref="InvariantViolationException">Worker code broke a rule of the worker model.</exception>
    public void TickOnce(CancellationToken cancellationToken = default)
    {
        if (_tickThread is not null)
        {
            throw new InvalidOperationException("TickOnce is not allowed while the tick thread is running");
        }

        int me = Environment.CurrentManagedThreadId;
        if (Interlocked.CompareExchange(ref _tickOwner, me, 0) != 0)
        {
            throw new InvalidOperationException("a tick is already in progress");
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!_executorStartedForManual)
            {
                _executorStartedForManual = true;
                _executor.Start();
            }

            TickCore(cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _tickOwner, 0);
        }
    }

    private bool _executorStartedForManual;

    private void TickLoop()
    {
        Volatile.Write(ref _tickOwner, Environment.CurrentManagedThreadId);
        TimeSpan interval = Options.TickInterval;
        try
        {
            while (true)
            {
                long started = _time.GetTimestamp();
                TickCore(CancellationToken.None);
                if (_drain.Task.IsCompleted)
                {
                    return;
                }

                // Fixed rate: a periodic timer sets the wake event every interval. If it fired while this tick ran,
                // the tick overran: the next one starts at once, and further missed ticks collapse into it (they
                // are counted, not replayed).
                if (_wake.IsSet && Volatile.Read(ref _wakeRequested) == 0)
                {
                    Interlocked.Increment(ref _overruns);
                    Metrics.TickOverruns.Add(1);
                    Log.TickOverrun(_loggers.Runtime, _time.GetElapsedTime(started).TotalMicroseconds, interval.TotalMilliseconds);
                }

                _wake.Wait();
                _wake.Reset();
                Volatile.Write(ref _wakeRequested, 0);
            }
        }
        catch (Exception ex)
        {
            // Invariant violations (and runtime bugs) stop the tick thread: publish a final status and fault.
            Log.InvariantViolation(_loggers.Runtime, ex.Message, ex);
            _statusDirty = true;
            PublishStatusIfDirty();
            _completion.TrySetException(ex);
            _drain.TrySetException(ex);
        }
        finally
        {
            _tickThreadExited.TrySetResult();
            FailPendingDumps();
        }
    }

    private int _wakeRequested;

    /// <summary>Wakes the tick thread early (commands that must not wait for the next interval).</summary>
    private void WakeTickThread()
    {
        Volatile.Write(ref _wakeRequested, 1);
        _wake.Set();
    }

    /// <summary>One whole-tree tick (§4.1).</summary>
    private void TickCore(CancellationToken cancellationToken)
    {
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        DateTimeOffset now = _time.GetUtcNow();
        TickNow = now;
        TickStamp = _time.GetTimestamp();
        ApplyCommands(now);
        DrainCompletions();
        ScanRunningActions(now);
        _root.Tick(now, cancellationToken);

        // 40-actions §4: at most one parked action thread is woken per tick, after the tick's last enqueue.
        _executor.FlushWakeups();
        Scheduler.FlushRequests();
        if (_shutdownStartedAt is not null)
        {
            CheckDrain(now);
        }

        PublishStatusIfDirty();
        CompletePendingDumps(now);

        // 50-runtime-monitoring §8.1: fsm2_tick_total is a plain field read by an observable counter; the duration goes
        // to a tag-less histogram, which records without allocating (MonitoringAllocationTests.M28_* runs a listener).
        Metrics.CountTick();
        Metrics.TickDuration.Record(_time.GetElapsedTime(TickStamp).TotalSeconds);
        Interlocked.Add(ref _tickThreadAllocatedBytes, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);

        // Last: TickCount counts completed ticks, so whoever waits on it (tools, tests driving a fake clock) never moves
        // the clock while this tick still runs.
        Interlocked.Increment(ref _tickCount);
    }

    private void ApplyCommands(DateTimeOffset now)
    {
        IReadOnlyList<ChildSpec>? configuration = Interlocked.Exchange(ref _pendingConfiguration, null);
        if (configuration is not null)
        {
            if (_shutdownStartedAt is not null)
            {
                Log.ConfigUpdateIgnored(_loggers.Runtime);
            }
            else
            {
                _configuration = configuration;
                _root.BumpSpecVersion();
            }
        }

        ApplyVariableCommands();

        while (_overrides.TryDequeue(out KeyValuePair<string, string?> command))
        {
            FindNode(command.Key)?.SetDesiredStateOverride(command.Value);
        }

        if (Volatile.Read(ref _shutdownRequested) != 0 && _shutdownStartedAt is null)
        {
            _shutdownStartedAt = now;
            _root.RequestShutdown(ShutdownReason.RuntimeShutdown, now);
        }
    }

    private void DrainCompletions()
    {
        while (_executor.TryDequeueCompletion(out ActionCompletion completion))
        {
            if (completion.Slot.Owner is SupervisorNode node)
            {
                node.ApplyCompletion(in completion);
            }
        }
    }

    /// <summary>
    /// 40-actions §10: the stuck scan, after the drain so an action that just ended is never declared stuck. Only the
    /// executor's running actions are visited (at most N); ages are on the runtime clock's timestamps.
    /// </summary>
    /// <remarks>PERF: struct copies and integer compares; logging and counting happen only at 2T and 3T: 0 B.</remarks>
    private void ScanRunningActions(DateTimeOffset now)
    {
        int cursor = 0;
        long timestamp = 0;
        while (_executor.TryGetRunning(ref cursor, out RunningAction running))
        {
            ActionSlot slot = running.Slot;
            if (!slot.InFlight || slot.Generation != running.Generation || slot.Owner is not SupervisorNode node)
            {
                // Already abandoned or cancelled: its completion will be late, and it is no longer this worker's concern.
                continue;
            }

            if (timestamp == 0)
            {
                timestamp = _time.GetTimestamp();
            }

            node.SuperviseRunningAction(in running, _time.GetElapsedTime(running.StartedAt, timestamp), now);
        }
    }

    private void PublishStatusIfDirty()
    {
        if (!_statusDirty)
        {
            return;
        }

        _statusDirty = false;
        var nodes = new List<NodeStatus>(_store.Count);
        AppendStatus(_root, nodes);
        Volatile.Write(ref _status, new RuntimeStatus(nodes, ++_statusGeneration)
        {
            FinalizedDuringShutdown = _finalStatuses is null ? [] : [.. _finalStatuses],
        });
    }

    private static void AppendStatus(SupervisorNode node, List<NodeStatus> nodes)
    {
        foreach (SupervisorNode child in node.ActiveChildren)
        {
            nodes.Add(child.ToStatus());
            AppendStatus(child, nodes);
        }

        foreach (SupervisorNode child in node.RemovingChildren)
        {
            nodes.Add(child.ToStatus());
            AppendStatus(child, nodes);
        }
    }
}
