using System.Diagnostics;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Health;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Supervision;

/// <summary>
/// A node of the supervision tree: it owns exactly one worker and everything around it — desired record, observation
/// slot, collector, current state, children, errors and counters.
/// </summary>
/// <remarks>
/// Threading: every member has tick-thread affinity. Use it from the tick thread, or from the test thread in manual
/// mode between ticks. Other threads read <see cref="SupervisorRuntime.Status"/> instead.
/// The tick order lives in <c>SupervisorNode.Tick.cs</c>, the child diff in <c>SupervisorNode.Reconcile.cs</c> and
/// graceful removal in <c>SupervisorNode.Removal.cs</c>.
/// </remarks>
[DebuggerDisplay("{Path,nq} ({WorkerType,nq}) {CurrentStateName,nq} {Lifecycle}")]
public sealed partial class SupervisorNode
{
    private static readonly IReadOnlyDictionary<string, object?> s_emptyVariables = VariableBundle.Empty.User;

    private readonly SupervisorRuntime _runtime;
    private readonly SupervisorNode? _parent;
    private readonly bool _isRoot;
    private readonly NodeError?[] _errors = new NodeError?[5];

    // Owner: tick thread (every field below).
    private ChildSpec _spec;
    private long _specVersion;
    private IReadOnlyDictionary<string, string>? _stateMapping;
    private string? _mappedState;
    private WorkerHandle? _worker;
    private Collector? _collector;
    private DateTimeOffset _collectorStartedAt;
    private bool _workerDone;
    private readonly NodeTickStats _tickStats;
    private string _lastEffective = "";
    private DateTimeOffset _stateEnteredAt;

    // Derive memo (§4.3): the key of the last attempt and the last accepted result.
    private long _memoSpecVersion = -1;
    private long _memoParentUserVersion = -1;
    private long _memoGlobalsVersion = -1;
    private bool _hasAccepted;
    private string _acceptedState = "";
    private IReadOnlyList<ChildSpec>? _acceptedChildren;
    private IReadOnlyDictionary<string, object?> _effectiveUser = s_emptyVariables;
    private long _effectiveUserVersion;
    private IReadOnlyDictionary<string, object?>? _internalVariables;

    // Freshness and collector supervision (§5).
    private bool _paused;
    private int _collectorRestarts;
    private DateTimeOffset _nextRestartAllowedAt = DateTimeOffset.MinValue;
    private bool _collectorDead;

    // Restart (NeedsRestart) and self-removal (§11).
    private bool _restartPending;
    private DateTimeOffset _restartRequestedAt;
    private bool _selfRemoved;

    internal SupervisorNode(SupervisorRuntime runtime, SupervisorNode? parent, ChildSpec spec, int depth, WorkerHandle worker, DateTimeOffset now)
    {
        _runtime = runtime;
        _parent = parent;
        _isRoot = parent is null;
        _spec = spec;
        _stateMapping = spec.StateMapping;
        Depth = depth;
        Identity = worker.Identity;
        CreatedAt = now;
        _stateEnteredAt = now;
        _tickStats = new NodeTickStats(runtime.Time.TimestampFrequency);
        ActionSlot = new ActionSlot(worker.Identity.Id) { Owner = this };
        long stamp = runtime.Time.GetTimestamp();
        _breaker = new InfraBreaker(stamp, InfraBreaker.Seed(runtime.SupervisionSeed, worker.Identity.Id));
        _restartSchedule = new InfraBreaker(stamp, InfraBreaker.Seed(~runtime.SupervisionSeed, worker.Identity.Id));
        _panic = new PanicWindow(runtime.Options.MaxPanics);
        AttachWorker(worker);
    }

    /// <summary>The node path (worker id): <c>pc1/conn</c>; the root's path is <c>""</c>.</summary>
    public string Path => Identity.Id;

    /// <summary>The child name (last path segment).</summary>
    public string Name => Identity.Name;

    /// <summary>The worker type.</summary>
    public string WorkerType => Identity.WorkerType;

    /// <summary>0 for the root, 1 for top-level entries, parent + 1 below.</summary>
    public int Depth { get; }

    /// <summary>The identity of the current worker instance.</summary>
    public Identity Identity { get; }

    /// <summary>When this node was created.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>How many worker instances this node has had beyond the first (restarts).</summary>
    public int Incarnation { get; private set; }

    /// <summary>The spec the node was declared with most recently.</summary>
    public ChildSpec Spec => _spec;

    /// <summary>The raw user spec of <see cref="Spec"/>.</summary>
    public UserSpec UserSpec => _spec.UserSpec ?? UserSpec.Empty;

    /// <summary>The current state mapping (replaced on every reconcile).</summary>
    public IReadOnlyDictionary<string, string>? StateMapping => _stateMapping;

    /// <summary>The last override applied by the parent's mapping or an explicit override; <see langword="null"/> without.</summary>
    public string? MappedState => _mappedState;

    /// <summary>The mapped override, else the last accepted derived state, else <c>""</c>.</summary>
    public string EffectiveDesiredState => _mappedState ?? (_hasAccepted ? _acceptedState : "");

    /// <summary>The worker's current FSM state name.</summary>
    public string CurrentStateName => _worker?.CurrentStateName ?? "";

    /// <summary>The reason the current state gave on its latest evaluation.</summary>
    public string Reason => _worker?.Reason ?? "";

    /// <summary>The current desired record (typed <see cref="DesiredState{TDesired}"/>), or <see langword="null"/> before the first accepted derive.</summary>
    public object? Desired => _worker?.GetRecords().Desired;

    /// <summary>Completed ticks of this node.</summary>
    public long TickCount => _tickStats.Count;

    /// <summary>The most recently set error that is still present.</summary>
    public NodeError? LastError
    {
        get
        {
            NodeError? latest = null;
            foreach (NodeError? error in _errors)
            {
                if (error is not null && (latest is null || error.At >= latest.At))
                {
                    latest = error;
                }
            }

            return latest;
        }
    }

    /// <summary>The sticky wind-down flag of the current worker instance.</summary>
    public bool ShutdownRequested { get; private set; }

    /// <summary>Why shutdown was requested.</summary>
    public ShutdownReason ShutdownReason { get; private set; }

    /// <summary>When shutdown was requested.</summary>
    public DateTimeOffset ShutdownRequestedAt { get; private set; }

    /// <summary>Active, removing or finalized.</summary>
    public NodeLifecycle Lifecycle { get; private set; }

    /// <summary>Whether the current worker instance has signalled <c>NeedsRemoval</c> (no further <c>Next</c>).</summary>
    public bool WorkerDone => _workerDone;

    /// <summary>Collector restarts since the last fresh observation.</summary>
    public int CollectorRestartCount => _collectorRestarts;

    /// <summary>Whether the collector escalated (the node waits for its parent's restart).</summary>
    public bool CollectorDead => _collectorDead;

    /// <summary>The collector of the current worker instance.</summary>
    public Collector? Collector => _collector;

    /// <summary>The current children view (as handed to this node's <c>Next</c>).</summary>
    public ChildrenView Children => _view;

    /// <summary>The error recorded for one step, if any.</summary>
    /// <param name="source">The tick step.</param>
    /// <returns>The error or <see langword="null"/>.</returns>
    public NodeError? GetError(ErrorSource source) => _errors[(int)source];

    internal ActionSlot ActionSlot { get; }

    internal WorkerHandle? Worker => _worker;

    internal SupervisorNode? Parent => _parent;

    private void AttachWorker(WorkerHandle worker)
    {
        _worker = worker;
        _workerDone = false;
        TimeSpan interval = worker.Options.ObservationInterval > TimeSpan.Zero
            ? worker.Options.ObservationInterval
            : _runtime.Options.ObservationInterval;
        _collector = _isRoot ? null : new Collector(worker, interval, _runtime.CollectorEnvironment);
    }

    private void SetError(ErrorSource source, string message, DateTimeOffset now, PanicClass? panicClass = null)
    {
        NodeError? current = _errors[(int)source];
        if (current is null || !string.Equals(current.Message, message, StringComparison.Ordinal) || current.Class != panicClass)
        {
            _errors[(int)source] = new NodeError(source, message, now) { Class = panicClass };
            _runtime.MarkStatusDirty();
        }
    }

    private void ClearError(ErrorSource source)
    {
        if (_errors[(int)source] is not null)
        {
            _errors[(int)source] = null;
            _runtime.MarkStatusDirty();
        }
    }

    internal NodeStatus ToStatus()
    {
        var names = new string[_activeCount];
        for (int i = 0; i < _activeCount; i++)
        {
            names[i] = _active[i].Name;
        }

        return new NodeStatus(Path, WorkerType, CurrentStateName, Reason, EffectiveDesiredState, Lifecycle, ShutdownRequested,
            LastError, names, _collectorRestarts)
        {
            Mode = _mode,
            FrozenBy = _frozenBy,
            Breaker = BreakerToStatus(),
            PanicBreaker = _panic.Count == 0 && !_panic.IsOpen
                ? PanicBreakerStatus.Closed
                : new PanicBreakerStatus(_panic.IsOpen, _panic.CountWithin(_runtime.TickStamp, _runtime.PanicWindowStamp)),
            CollectorDead = _collectorDead,
            Restarts = _restartsByParent,
            StateSince = _stateEnteredAt,
            Ticks = _tickStats,
            Worker = _worker,
            ChildView = _view,
        };
    }

}
