using System.Collections.Concurrent;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Health;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fsm2.Edge.Supervision;

/// <summary>
/// Owns the node tree, the tick thread, the worker store, the worker factory, the action executor and the
/// collectors. One runtime per process (gateway).
/// </summary>
/// <remarks>
/// Threading: the tick runs on one dedicated thread (<see cref="Start"/>) or, in manual mode, on the thread calling
/// <see cref="TickOnce"/>. Other threads reach the tree only through the lock-free commands
/// (<see cref="SetConfiguration"/>, <see cref="SetGlobals"/>, <see cref="SetDesiredStateOverride"/>,
/// <see cref="ShutdownAsync"/>), applied at the start of the next tick, and read it through <see cref="Status"/>.
/// </remarks>
public sealed partial class SupervisorRuntime : IAsyncDisposable
{
    /// <summary>The worker type of the root node.</summary>
    public const string RootWorkerType = "runtime";

    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly RuntimeLoggers _loggers;
    private readonly IActionExecutor _executor;
    private readonly SupervisorNode _root;

    // Owner: tick thread. The live-worker store, keyed by worker id (§3.2).
    private readonly Dictionary<string, SupervisorNode> _store = new(StringComparer.Ordinal);

    // Commands from other threads; only the latest configuration and globals count.
    private IReadOnlyList<ChildSpec>? _pendingConfiguration;
    private IReadOnlyDictionary<string, object?>? _pendingGlobals;
    private readonly ConcurrentQueue<KeyValuePair<string, string?>> _overrides = new();

    // Owner: tick thread.
    private IReadOnlyList<ChildSpec> _configuration = [];
    private IReadOnlyDictionary<string, object?> _globals = Templating.VariableValue.NormalizeMap(null);
    private long _globalsVersion;
    private bool _statusDirty = true;
    private long _statusGeneration;
    private long _lastQueueFullLog = long.MinValue;

    // Shared: published by the tick thread with a volatile write; read by anyone.
    private RuntimeStatus _status = RuntimeStatus.Empty;
    private long _tickCount;

    // Owner: tick thread. Final statuses of nodes finalized during the runtime shutdown (RecordFinalStatus).
    private List<NodeStatus>? _finalStatuses;
    private long _tickThreadAllocatedBytes;

    // Shared: the managed thread id of whoever is ticking (0 when nobody is), claimed with compare-and-swap.
    private int _tickOwner;

    /// <summary>Creates a runtime in manual mode; call <see cref="Start"/> to run the tick thread.</summary>
    /// <param name="factory">The worker registry.</param>
    /// <param name="options">Timing and sizing; <see langword="null"/> takes every default.</param>
    /// <param name="time">The clock; <see langword="null"/> takes <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging; <see langword="null"/> logs nothing.</param>
    /// <param name="scheduler">Collector scheduling; <see langword="null"/> takes <see cref="LoopObservationScheduler"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message names the field.</exception>
    public SupervisorRuntime(
        WorkerFactory factory,
        RuntimeOptions? options = null,
        TimeProvider? time = null,
        ILoggerFactory? loggerFactory = null,
        IObservationScheduler? scheduler = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Options = (options ?? new RuntimeOptions()).Resolve();
        Factory = factory;
        _time = time ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _loggers = new RuntimeLoggers(_loggerFactory);
        Metrics = new EdgeMetrics(null);
        Metrics.AttachRenderer(_renderer);
        Scheduler = scheduler ?? new LoopObservationScheduler(_time, _loggers.Supervision);
        CollectorEnvironment = new CollectorEnvironment(_time, Options.ObservationTimeout, Options.FailureLogInterval, _loggers.Supervision, Metrics);
        _executor = CreateExecutor();
        BackoffRandom = Options.ActionBackoffSeed is { } seed ? new Random(seed) : new Random();
        SupervisionSeed = Options.SupervisionSeed ?? (ulong)Random.Shared.NextInt64();
        BreakerPolicy = new BreakerPolicy(
            ToStamp(Options.BreakerBaseDelay), ToStamp(Options.BreakerMaxDelay), ToStamp(Options.BreakerStabilityWindow!.Value),
            Options.BreakerJitter!.Value, Options.PersistentFailureAttempt, Options.EscalationAttempt);
        PanicWindowStamp = ToStamp(Options.PanicWindow);
        RestartGraceStamp = ToStamp(Options.RestartGrace!.Value);
        ProbeScheduler = new ProbeScheduler(_time, _loggers.Supervision, Metrics, SupervisionSeed);
        Metrics.AttachStatusSource(() => Status);
        Metrics.AttachClock(_time);
        foreach (string warning in Options.GetWarnings())
        {
            Log.OptionsWarning(_loggers.Runtime, warning);
        }

        TickStamp = _time.GetTimestamp();

        DateTimeOffset now = _time.GetUtcNow();
        var rootIdentity = new Identity("", "", RootWorkerType, "");
        var rootHandle = new WorkerHandle<RootWorker.Observed, RootWorker.Config>(rootIdentity, new RootWorker(this), new WorkerTypeOptions());
        rootHandle.Initialize();
        rootHandle.PublishObservation(RootWorker.Observed.Instance, now);
        _root = new SupervisorNode(this, null, new ChildSpec("", RootWorkerType, UserSpec.Empty), 0, rootHandle, now);
    }

    /// <summary>
    /// The probe types nodes can attach (30-supervision §10.4): <c>tcp</c> built in; register others (such as
    /// <c>mqtt</c>) before the configuration that uses them is applied. Thread-safe.
    /// </summary>
    public ProbeFactory Probes { get; } = new();

    /// <summary>The resolved options (defaults applied).</summary>
    public RuntimeOptions Options { get; }

    /// <summary>The worker registry.</summary>
    public WorkerFactory Factory { get; }

    /// <summary>The clock every part of the runtime reads.</summary>
    public TimeProvider Time => _time;

    /// <summary>The root node (depth 0, path <c>""</c>). Tick-thread affinity, like every node.</summary>
    public SupervisorNode Root => _root;

    /// <summary>The latest published status; never <see langword="null"/>. Safe from any thread.</summary>
    public RuntimeStatus Status => Volatile.Read(ref _status);

    /// <summary>Completed whole-tree ticks. Safe from any thread.</summary>
    public long TickCount => Interlocked.Read(ref _tickCount);

    /// <summary>Tick thread: the count of ticks run before this one (a plain read: the tick thread is the only writer).</summary>
    internal long TickIndex => _tickCount;

    /// <summary>
    /// Bytes allocated by the ticking thread inside ticks, summed over all ticks (each tick measures
    /// <see cref="GC.GetAllocatedBytesForCurrentThread"/> before and after itself). The difference between two readings
    /// is what the ticks in between allocated; waiting between ticks is not counted. Safe from any thread.
    /// </summary>
    public long TickThreadAllocatedBytes => Interlocked.Read(ref _tickThreadAllocatedBytes);

    /// <summary>
    /// Actions handed to the executor whose completion has not been queued back yet. Safe from any thread; tests use
    /// it to let real action threads finish before they advance a fake clock.
    /// </summary>
    public int OutstandingActions => _executor.Outstanding;

    /// <summary>Finds a live node by path (tick-thread affinity).</summary>
    /// <param name="path">The node path; <c>""</c> is the root.</param>
    /// <returns>The node, or <see langword="null"/>.</returns>
    public SupervisorNode? FindNode(string path)
        => path.Length == 0 ? _root : _store.GetValueOrDefault(path);

    /// <summary>The number of live worker records in the store (the root excluded). Tick-thread affinity.</summary>
    public int LiveWorkerCount => _store.Count;

    /// <summary>Replaces the configuration (the top-level entries); applied at the start of the next tick.</summary>
    /// <param name="entries">The complete list of top-level entries.</param>
    public void SetConfiguration(IReadOnlyList<ChildSpec> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Volatile.Write(ref _pendingConfiguration, entries);
    }

    /// <summary>
    /// Replaces the config layer of the runtime's Global variables (config <c>global:</c>); applied at the start of the
    /// next tick. The fleet layer (<see cref="SetFleetGlobals"/>) is deep-merged over it.
    /// </summary>
    /// <param name="globals">The variables; normalised here (20-templating §1.2).</param>
    /// <exception cref="Templating.VariableValueException">A value cannot be normalised; the message names its path.</exception>
    public void SetGlobals(IReadOnlyDictionary<string, object?> globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        Volatile.Write(ref _pendingGlobals, Templating.VariableValue.NormalizeMap(globals, "global"));
    }

    /// <summary>Sets (or with <see langword="null"/> clears) a node's desired-state override at the next tick.</summary>
    /// <param name="path">The node path.</param>
    /// <param name="state">The override, or <see langword="null"/>.</param>
    public void SetDesiredStateOverride(string path, string? state)
    {
        ArgumentNullException.ThrowIfNull(path);
        _overrides.Enqueue(new KeyValuePair<string, string?>(path, state));
    }

    internal IReadOnlyList<ChildSpec> Configuration => _configuration;

    internal IReadOnlyDictionary<string, object?> Globals => _globals;

    internal long GlobalsVersion => _globalsVersion;

    internal EdgeMetrics Metrics { get; }

    internal ProbeScheduler ProbeScheduler { get; }

    /// <summary>The breaker timing in timestamp units (tick thread reads it by reference).</summary>
    internal BreakerPolicy BreakerPolicy { get; }

    internal ulong SupervisionSeed { get; }

    internal long PanicWindowStamp { get; }

    internal long RestartGraceStamp { get; }

    /// <summary>
    /// Owner: tick thread. The monotonic stamp of the current tick (<see cref="TimeProvider.GetTimestamp"/>), read once per
    /// tick together with its wall time <see cref="TickNow"/>; every supervision decision of the tick uses it.
    /// </summary>
    internal long TickStamp { get; private set; }

    internal DateTimeOffset TickNow { get; private set; }

    /// <summary>Owner: tick thread. Probe id → owning node path (ids are unique per runtime, 30-supervision §10.1).</summary>
    internal Dictionary<string, string> ProbeOwners { get; } = new(StringComparer.Ordinal);

    /// <summary>Converts a duration to <see cref="TimeProvider.GetTimestamp"/> units of the runtime clock.</summary>
    internal long ToStamp(TimeSpan duration) => (long)(duration.Ticks * ((double)_time.TimestampFrequency / TimeSpan.TicksPerSecond));

    /// <summary>Converts a stamp of this tick's clock to wall time, relative to the current tick.</summary>
    internal DateTimeOffset StampToTime(long stamp) => TickNow + _time.GetElapsedTime(TickStamp, stamp);

    /// <summary>The action backoff jitter generator (tick thread only, so an unsynchronized instance suffices).</summary>
    internal Random BackoffRandom { get; }

    internal IObservationScheduler Scheduler { get; }

    internal CollectorEnvironment CollectorEnvironment { get; }

    internal IActionExecutor Executor => _executor;

    internal ILogger SupervisionLogger => _loggers.Supervision;

    internal ILogger TreeLogger => _loggers.Tree;

    internal ILogger ActionsLogger => _loggers.Actions;

    internal void MarkStatusDirty() => _statusDirty = true;

    internal void RegisterNode(SupervisorNode node) => _store[node.Path] = node;

    /// <summary>
    /// Tick thread, at finalization: during a runtime shutdown the node's final status is kept for
    /// <see cref="RuntimeStatus.FinalizedDuringShutdown"/> (allocates, but only while shutting down).
    /// </summary>
    internal void RecordFinalStatus(SupervisorNode node)
    {
        if (_shutdownStartedAt is null || node.Path.Length == 0)
        {
            return;
        }

        (_finalStatuses ??= []).Add(node.ToStatus());
        _statusDirty = true;
    }

    internal void UnregisterNode(SupervisorNode node)
    {
        if (_store.TryGetValue(node.Path, out SupervisorNode? current) && ReferenceEquals(current, node))
        {
            _store.Remove(node.Path);
        }
    }

    internal void ReportQueueFull(string node, string action)
    {
        // At most once per 10 s per runtime (50-runtime-monitoring §9.2); the counter records every occurrence.
        long now = _time.GetTimestamp();
        if (_lastQueueFullLog == long.MinValue || _time.GetElapsedTime(_lastQueueFullLog, now) >= TimeSpan.FromSeconds(10))
        {
            _lastQueueFullLog = now;
            Log.ActionQueueFull(_loggers.Actions, node, action, _executor.Capacity);
        }
    }

    /// <summary>
    /// Stops the runtime at once and releases its resources: whatever has not drained is force-finalized (use
    /// <see cref="ShutdownAsync"/> first for a graceful drain). In manual mode the tree is finalized on the calling
    /// thread, which must not be ticking.
    /// </summary>
    /// <returns>A task that completes when everything stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_tickThread is not null)
        {
            if (!_tickThreadExited.Task.IsCompleted)
            {
                Volatile.Write(ref _forceRequested, 1);
                Task<ShutdownResult> shutdown = ShutdownAsync();
                WakeTickThread();
                await shutdown.ConfigureAwait(false);
            }
        }
        else if (Volatile.Read(ref _tickOwner) == 0 && _root.Lifecycle != NodeLifecycle.Finalized)
        {
            // Manual mode: stop every collector by finalizing what is left.
            _root.FinalizeSubtree(_time.GetUtcNow());
            _drain.TrySetResult(new ShutdownResult(false, [], TimeSpan.Zero));
        }

        await _executor.DisposeAsync().ConfigureAwait(false);
        ProbeScheduler.Dispose();
        _wakeTimer?.Dispose();
        _wake.Dispose();
        Metrics.Dispose();
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1859:Use concrete types when possible",
        Justification = "Executors are interchangeable behind IActionExecutor: the Channels baseline and the lock-free ring.")]
    private IActionExecutor CreateExecutor() => Options.ActionQueue switch
    {
        ActionQueueKind.Channel => new ChannelActionExecutor(
            Options.ActionQueueCapacity, Options.ActionThreads, Options.ActionTimeout, _time, _loggers.Actions, Metrics),
        _ => new RingActionExecutor(
            Options.ActionQueueCapacity, Options.ActionThreads, Options.ActionTimeout, _time, _loggers.Actions, Metrics),
    };

    private sealed class RuntimeLoggers(ILoggerFactory factory)
    {
        public ILogger Runtime { get; } = factory.CreateLogger("Fsm2.Edge.Runtime");

        public ILogger Tree { get; } = factory.CreateLogger("Fsm2.Edge.Tree");

        public ILogger Supervision { get; } = factory.CreateLogger("Fsm2.Edge.Supervision");

        public ILogger Actions { get; } = factory.CreateLogger("Fsm2.Edge.Actions");
    }
}
