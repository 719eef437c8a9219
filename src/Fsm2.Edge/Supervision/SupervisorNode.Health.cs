using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Observability;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Supervision;

/// <summary>
/// The supervision gates of one node (30-supervision §4, §5, §6): the panic gate, the infrastructure breaker and its
/// allocation-free health evaluation, health-only mode, and the root's private restart schedule for top-level nodes.
/// </summary>
public sealed partial class SupervisorNode
{
    // Owner: tick thread (every field below). Hot supervision state, inline value types (§3).
    private InfraBreaker _breaker;
    private PanicWindow _panic;

    // As a top-level node: the root's private restart schedule for it (§6); it freezes nothing and is never published.
    private InfraBreaker _restartSchedule;

    // The mode of this node's current tick; children read their parent's to inherit health-only (§4.2 step 5).
    private NodeMode _mode;
    private string? _frozenBy;

    // Cold: the sorted causes of the last failed evaluation, kept for the status while the breaker is open.
    private HealthCause[] _causes = [];

    /// <summary>The infrastructure breaker's state.</summary>
    public BreakerState BreakerState => _breaker.State;

    /// <summary>Failed evaluations of the breaker's current episode (§5.4).</summary>
    public int BreakerAttempts => _breaker.Attempts;

    /// <summary>Whether the panic breaker is open (§9.3).</summary>
    public bool PanicBreakerOpen => _panic.IsOpen;

    /// <summary>The mode of the node's latest tick (§4.1).</summary>
    public NodeMode Mode => _mode;

    /// <summary>While health-only: the path of the open node that froze this one.</summary>
    public string? FrozenBy => _frozenBy;

    /// <summary>The sorted causes of the last failed evaluation while the breaker is open; empty otherwise.</summary>
    public IReadOnlyList<HealthCause> BreakerCauses => _breaker.State == BreakerState.Closed ? [] : _causes;

    /// <summary>Shutdown mode (§4.1): the worker winds down, the node is being removed, or the runtime shuts down.</summary>
    private bool InShutdownMode => ShutdownRequested || Lifecycle != NodeLifecycle.Active || _runtime.IsShuttingDown;

    /// <summary>
    /// §4.2 steps 2–3 for an active, non-root node outside shutdown mode: panic gate, probe attachment, infrastructure
    /// gate. Returns <see langword="true"/> when the node runs health-only this tick.
    /// </summary>
    /// <remarks>
    /// PERF: in steady state this is the panic flag, one reference compare for the probe list, and the breaker's
    /// evaluation over the children's inline fields and the probes' verdict slots: no allocation, no I/O. Proven by
    /// HealthTickAllocationTests (S-13) and HealthEvaluationBenchmarks.
    /// </remarks>
    private bool RunSupervisionGates(DateTimeOffset now)
    {
        long stamp = _runtime.TickStamp;
        EnsureProbes(now);

        // Step 2: panic gate. The close check also runs while the parent is open, so a child can recover under a
        // frozen parent (unlike the Go original, §13 defect 2).
        if (_panic.IsOpen && _panic.TryClose(stamp, _runtime.PanicWindowStamp))
        {
            Log.PanicBreakerClosed(_runtime.SupervisionLogger, Path);
            _runtime.MarkStatusDirty();
        }

        // Step 3: infrastructure gate.
        RunBreaker(stamp, now);

        bool inherited = _parent is { _mode: NodeMode.HealthOnly };
        bool own = _panic.IsOpen || _breaker.State != BreakerState.Closed;
        string? frozenBy = inherited ? _parent!._frozenBy : own ? Path : null; // inherited implies a parent.
        SetMode(inherited || own ? NodeMode.HealthOnly : NodeMode.Full, frozenBy);
        return inherited || own;
    }

    private void SetMode(NodeMode mode, string? frozenBy)
    {
        if (_mode != mode || !ReferenceEquals(_frozenBy, frozenBy))
        {
            if (_mode == NodeMode.HealthOnly && mode == NodeMode.Full)
            {
                // Leaving a frozen period re-derives once, so the first full tick starts from a fresh derive (S-04)
                // and reconcile applies whatever changed meanwhile (§11).
                _memoSpecVersion = -1;
            }

            _mode = mode;
            _frozenBy = frozenBy;
            _runtime.MarkStatusDirty();
        }
    }

    /// <summary>Health-only mode (§4.1): children (in this node's mode, removing ones in shutdown mode) and collector supervision.</summary>
    private void TickHealthOnly(DateTimeOffset now, CancellationToken cancellationToken)
    {
        TickChildren(now, cancellationToken);

        // Step 7, health-only: collector supervision only. The children view keeps its last value.
        if (_workerDone || _worker is null || _collector is not { State: Collection.CollectorState.Running })
        {
            return;
        }

        if (!_worker.TryGetObservation(out DateTimeOffset collectedAt, out _))
        {
            SuperviseCollector(now, now - _collectorStartedAt);
            return;
        }

        TimeSpan age = now - collectedAt;
        if (age >= _runtime.Options.StaleThreshold)
        {
            SuperviseCollector(now, age);
        }
        else if (_collectorRestarts > 0 && !_collectorDead)
        {
            Log.CollectorRecovered(_runtime.SupervisionLogger, Path, _collectorRestarts);
            _collectorRestarts = 0;
            _nextRestartAllowedAt = DateTimeOffset.MinValue;
            _runtime.MarkStatusDirty();
        }
    }

    /// <summary>The breaker step of §5.2: evaluate when Closed or a trial is due, then act on the event.</summary>
    private void RunBreaker(long stamp, DateTimeOffset now)
    {
        if (!_breaker.BeginTick(stamp))
        {
            // Open and not due: nothing is evaluated, restarted or logged above Debug (S-07).
            return;
        }

        bool healthy = IsHealthy(stamp);
        BreakerPolicy policy = _runtime.BreakerPolicy;
        switch (_breaker.Report(healthy, stamp, in policy))
        {
            case BreakerEvent.Opened:
                _causes = CollectCauses(stamp);
                _runtime.Metrics.BreakerOpened.Add(1, new KeyValuePair<string, object?>("node", Path));
                LogFailure(opened: true, restarts: 0, stamp);
                _runtime.MarkStatusDirty();
                break;
            case BreakerEvent.TrialFailed:
                _causes = CollectCauses(stamp);
                _runtime.Metrics.BreakerTrials.Add(1, new KeyValuePair<string, object?>("node", Path), new KeyValuePair<string, object?>("result", "unhealthy"));
                int restarts = RestartEligibleChildren(now, stamp);
                LogFailure(opened: false, restarts, stamp);
                _runtime.MarkStatusDirty();
                break;
            case BreakerEvent.Closed:
                KeyValuePair<string, object?> node = new("node", Path);
                _runtime.Metrics.BreakerTrials.Add(1, node, new KeyValuePair<string, object?>("result", "healthy"));
                _runtime.Metrics.BreakerRecoveries.Add(1, node);
                TimeSpan open = _runtime.Time.GetElapsedTime(_breaker.OpenedAt, stamp);
                _runtime.Metrics.BreakerOpenSeconds.Record(open.TotalSeconds, node);
                Log.BreakerClosed(_runtime.SupervisionLogger, Path, open.TotalMilliseconds, _breaker.Attempts);
                _causes = [];
                _runtime.MarkStatusDirty();
                break;
            case BreakerEvent.EpisodeEnded:
                Log.BreakerEpisodeEnded(_runtime.SupervisionLogger, Path, _breaker.Attempts);
                _runtime.MarkStatusDirty();
                break;
        }
    }

    /// <summary>
    /// §5.1, allocation-free and without I/O: no active child has a breaker that is not Closed, an open panic breaker
    /// or a dead collector, and every probe of this node counts as healthy. Removing children are skipped.
    /// </summary>
    private bool IsHealthy(long stamp)
    {
        for (int i = 0; i < _activeCount; i++)
        {
            SupervisorNode child = _active[i];
            if (child._breaker.State != BreakerState.Closed || child._panic.IsOpen || child._collectorDead)
            {
                return false;
            }
        }

        ProbeHandle[] probes = _probes;
        for (int i = 0; i < probes.Length; i++)
        {
            if (!probes[i].IsHealthyAt(stamp))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Cold path (a failed evaluation): every present cause, sorted by kind, then by name or probe id.</summary>
    private HealthCause[] CollectCauses(long stamp)
    {
        var causes = new List<HealthCause>();
        for (int i = 0; i < _activeCount; i++)
        {
            SupervisorNode child = _active[i];
            if (child._breaker.State != BreakerState.Closed)
            {
                causes.Add(new HealthCause(HealthCauseKind.ChildBreakerOpen, child.Name));
            }

            if (child._panic.IsOpen)
            {
                causes.Add(new HealthCause(HealthCauseKind.ChildPanicBreakerOpen, child.Name));
            }

            if (child._collectorDead)
            {
                causes.Add(new HealthCause(HealthCauseKind.ChildCollectorDead, child.Name));
            }
        }

        foreach (ProbeHandle probe in _probes)
        {
            if (!probe.IsHealthyAt(stamp))
            {
                causes.Add(new HealthCause(HealthCauseKind.ProbeFailed, probe.Id));
            }
        }

        causes.Sort(HealthCause.Compare);
        return [.. causes];
    }

    /// <summary>
    /// One line per failed evaluation (§5.6), at the level of its escalation label. Two lines of an episode carry more
    /// (50-runtime-monitoring §9.3): the one before escalation (<c>attempts_until_escalation=1</c>) and the first
    /// <c>escalation_imminent</c> line (Critical, with <c>runbook</c> and <c>manual_steps</c> per cause).
    /// </summary>
    /// <remarks>Cold path: a failed evaluation (at most one per trial); the tick's steady state never gets here.</remarks>
    private void LogFailure(bool opened, int restarts, long stamp)
    {
        BreakerPolicy policy = _runtime.BreakerPolicy;
        int attempt = _breaker.Attempts;
        LogLevel level = attempt >= policy.PersistentAt ? LogLevel.Error : LogLevel.Warning;
        bool escalating = attempt >= policy.EscalateAt && !_breaker.EscalationReported;
        if (escalating)
        {
            _breaker.EscalationReported = true;
            level = LogLevel.Critical;
            _runtime.Metrics.BreakerEscalations.Add(1, new KeyValuePair<string, object?>("node", Path));
        }

        string label = InfraBreaker.Label(attempt, in policy);
        string causes = string.Join(",", _causes);
        double nextTrialMs = _runtime.Time.GetElapsedTime(stamp, _breaker.NextTrialAt).TotalMilliseconds;
        string mode = _parent is { _mode: NodeMode.HealthOnly } ? "health-only" : "full";
        ILogger logger = _runtime.SupervisionLogger;
        if (escalating)
        {
            string steps = ManualSteps();
            if (opened)
            {
                Log.BreakerOpenedEscalation(logger, level, Path, mode, attempt, label, causes, nextTrialMs, restarts, EscalationLabels.Runbook, steps);
            }
            else
            {
                Log.BreakerTrialFailedEscalation(logger, level, Path, mode, attempt, label, causes, nextTrialMs, restarts, EscalationLabels.Runbook, steps);
            }
        }
        else if (attempt == policy.EscalateAt - 1)
        {
            if (opened)
            {
                Log.BreakerOpenedPreEscalation(logger, level, Path, mode, attempt, label, causes, nextTrialMs, restarts, attemptsUntilEscalation: 1);
            }
            else
            {
                Log.BreakerTrialFailedPreEscalation(logger, level, Path, mode, attempt, label, causes, nextTrialMs, restarts, attemptsUntilEscalation: 1);
            }
        }
        else if (opened)
        {
            Log.BreakerOpened(logger, level, Path, mode, attempt, label, causes, nextTrialMs, restarts);
        }
        else
        {
            Log.BreakerTrialFailed(logger, level, Path, mode, attempt, label, causes, nextTrialMs, restarts);
        }
    }

    /// <summary>
    /// <c>manual_steps</c> of the escalation line (50 §9.3): per cause, what an operator checks by hand, as
    /// <c>Cause: steps</c> joined by <c> | </c>. A failed probe names its own checks
    /// (<see cref="IInfrastructureProbe.ManualSteps"/>); a child cause points at the child's own lines.
    /// </summary>
    private string ManualSteps()
    {
        var steps = new System.Text.StringBuilder();
        foreach (HealthCause cause in _causes)
        {
            if (steps.Length > 0)
            {
                _ = steps.Append(" | ");
            }

            _ = steps.Append(cause.ToString()).Append(": ");
            string child = Path + "/" + cause.Name;
            _ = cause.Kind switch
            {
                HealthCauseKind.ProbeFailed => steps.Append(ProbeManualSteps(cause.Name)),
                HealthCauseKind.ChildBreakerOpen => steps.Append("follow the breaker lines of ").Append(child).Append(": its causes are the root cause"),
                HealthCauseKind.ChildPanicBreakerOpen => steps.Append("read the tick_panic lines of ").Append(child).Append(" (class, site, exception)"),
                HealthCauseKind.ChildCollectorDead => steps.Append("read collector_escalated of ").Append(child).Append("; it is restarted at every failed trial"),
                _ => steps.Append("see the status of ").Append(Path),
            };
        }

        return steps.ToString();
    }

    private string ProbeManualSteps(string probeId)
    {
        foreach (ProbeHandle probe in _probes)
        {
            if (probe.Id == probeId)
            {
                return probe.Probe.ManualSteps;
            }
        }

        return $"check the target of probe '{probeId}'";
    }

    /// <summary>
    /// §6, the root only: each top-level node has a private restart schedule; a collector-dead top-level node is
    /// restarted at its schedule's failed trials, exactly as a parent breaker would (§7). It freezes nothing.
    /// </summary>
    private void RunRootRestarts(DateTimeOffset now)
    {
        if (_runtime.IsShuttingDown)
        {
            return;
        }

        long stamp = _runtime.TickStamp;
        BreakerPolicy policy = _runtime.BreakerPolicy;
        for (int i = 0; i < _activeCount; i++)
        {
            SupervisorNode child = _active[i];
            ref InfraBreaker schedule = ref child._restartSchedule;
            if (!schedule.BeginTick(stamp))
            {
                continue;
            }

            if (schedule.Report(!child._collectorDead, stamp, in policy) == BreakerEvent.TrialFailed)
            {
                TryRestartChild(child, now, stamp, schedule.Attempts);
            }
        }
    }

    /// <summary>§7.1: at a failed trial, restart every active collector-dead child unless it is in its grace.</summary>
    private int RestartEligibleChildren(DateTimeOffset now, long stamp)
    {
        int restarts = 0;
        for (int i = 0; i < _activeCount; i++)
        {
            SupervisorNode child = _active[i];
            if (child._collectorDead && TryRestartChild(child, now, stamp, _breaker.Attempts))
            {
                restarts++;
            }
        }

        return restarts;
    }

    private bool TryRestartChild(SupervisorNode child, DateTimeOffset now, long stamp, int parentAttempt)
    {
        if (!child._collectorDead || child.Lifecycle != NodeLifecycle.Active)
        {
            return false;
        }

        // Grace: a child still walking its shutdown states gets RestartGrace to finish before it is re-created.
        long deadFor = stamp - child._collectorDeadAt;
        if (!child._workerDone && child._worker is not null && deadFor < _runtime.RestartGraceStamp)
        {
            Log.ChildRestartDeferred(_runtime.SupervisionLogger, child.Path, _runtime.Time.GetElapsedTime(child._collectorDeadAt, stamp).TotalMilliseconds);
            return false;
        }

        return child.RestartByParent(now, "collector_dead", parentAttempt);
    }

    /// <summary>Status projection of the breaker (publication only).</summary>
    private BreakerStatus BreakerToStatus()
    {
        BreakerPolicy policy = _runtime.BreakerPolicy;
        if (_breaker.State == BreakerState.Closed)
        {
            return _breaker.Attempts == 0
                ? BreakerStatus.Closed
                : new BreakerStatus(BreakerState.Closed, _breaker.Attempts, InfraBreaker.Label(_breaker.Attempts, in policy), [], null, null, null);
        }

        var causes = new string[_causes.Length];
        for (int i = 0; i < causes.Length; i++)
        {
            causes[i] = _causes[i].ToString();
        }

        return new BreakerStatus(
            _breaker.State,
            _breaker.Attempts,
            InfraBreaker.Label(_breaker.Attempts, in policy),
            causes,
            _runtime.StampToTime(_breaker.NextTrialAt),
            _runtime.Time.GetElapsedTime(_runtime.TickStamp, _breaker.NextTrialAt).TotalMilliseconds,
            _runtime.StampToTime(_breaker.OpenedAt));
    }
}
