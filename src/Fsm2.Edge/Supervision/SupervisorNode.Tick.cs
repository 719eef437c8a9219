using Fsm2.Edge.Execution;
using Fsm2.Edge.Health;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Reconciliation;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorNode
{
    /// <summary>
    /// One tick of this node and its subtree, in the order of the spec (§4.2): derive (memoized), effective desired
    /// state, reconcile, state mapping, children (active in spec order, then removing), children view, freshness and
    /// action gate, evaluate, apply.
    /// </summary>
    /// <remarks>
    /// PERF: in steady state every step below is a handful of field compares: derive is memoized on integer versions,
    /// reconcile and mapping run only when flagged, children are iterated over arrays, the view is replaced only
    /// when its content changed, and states are singletons. Proven by TickBenchmarks.SteadyQuiescent (Allocated: 0 B)
    /// and the allocation tests in SupervisorRuntimeAllocationTests.
    /// </remarks>
    internal void Tick(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (Lifecycle == NodeLifecycle.Finalized)
        {
            return;
        }

        // 50-runtime-monitoring §6.3 `ticks`. PERF: timing every node on every tick costs two clock reads per node
        // (about 20 ns each here: some 40 µs per tick for the 1,000-node W1 tree, as much as the whole tick), so the
        // durations are sampled on one tick in 16 (lastUs/maxUs describe sampled ticks; count counts every tick).
        if ((_runtime.TickIndex & TickTimingSampleMask) != 0)
        {
            TickSteps(now, cancellationToken);
            _tickStats.CountTick();
            return;
        }

        TimeProvider time = _runtime.Time;
        long started = time.GetTimestamp();
        TickSteps(now, cancellationToken);
        _tickStats.RecordTick(time.GetTimestamp() - started);
    }

    // Node tick durations are measured on ticks whose index has these bits clear (one in 16).
    private const long TickTimingSampleMask = 15;

    private void TickSteps(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_restartPending && !_workerDone && now - _restartRequestedAt >= _runtime.Options.RestartTimeout)
        {
            ForceRestartFallback();
        }

        // 30-supervision §4: shutdown mode takes precedence; otherwise the panic and infrastructure gates decide
        // between full and health-only. The root never opens (§6); it only runs the top-level restart schedules.
        if (InShutdownMode)
        {
            SetMode(NodeMode.Shutdown, null);
        }
        else if (_isRoot)
        {
            RunRootRestarts(now);
        }
        else if (RunSupervisionGates(now))
        {
            TickHealthOnly(now, cancellationToken);
            return;
        }

        // Step 3: derive, only while the worker runs normally; once shutdown is requested the last accepted result stays.
        if (!ShutdownRequested && !_workerDone && DeriveKeyChanged())
        {
            if (!RunDerive(now))
            {
                return;
            }
        }

        if (!_hasAccepted && !ShutdownRequested)
        {
            return;
        }

        // Step 4: effective desired state, published to the collector when it changed.
        string effective = EffectiveDesiredState;
        if (!ReferenceEquals(effective, _lastEffective))
        {
            if (!string.Equals(effective, _lastEffective, StringComparison.Ordinal))
            {
                _runtime.MarkStatusDirty();
                _mappingDirty = true;
            }

            _lastEffective = effective;
        }

        if (_hasAccepted && !_workerDone && _worker is not null && _worker.PublishDesired(effective, ShutdownRequested))
        {
            StartCollectorIfNeeded(now);
        }

        // Steps 5–8: children.
        if (_reconcileRequested || now >= _reconcileRetryAt || (_hasCreateFailures && _retryFactoryVersion != _runtime.Factory.Version))
        {
            long reconcileStarted = _runtime.Time.GetTimestamp();
            Reconcile(now);
            _runtime.Metrics.ReconcileDuration.Record(_runtime.Time.GetElapsedTime(reconcileStarted).TotalSeconds);
        }

        if (_mappingDirty)
        {
            ApplyStateMapping(effective);
        }

        TickChildren(now, cancellationToken);
        RefreshChildrenView();

        // Steps 9–11: this node's own worker.
        if (!_workerDone && _worker is not null && PassesGates(now))
        {
            Evaluate(now);
        }

    }

    private bool DeriveKeyChanged()
    {
        long parentUserVersion = _parent?._effectiveUserVersion ?? 0;
        long globalsVersion = _runtime.GlobalsVersion;
        return _memoSpecVersion != _specVersion || _memoParentUserVersion != parentUserVersion || _memoGlobalsVersion != globalsVersion
            || _memoParentLocationVersion != ParentLocationVersion;
    }

    /// <summary>Runs derive for a new input key. Returns <see langword="false"/> when the rest of the tick is skipped.</summary>
    private bool RunDerive(DateTimeOffset now)
    {
        WorkerHandle worker = _worker!; // DeriveKeyChanged is only consulted while a worker instance exists.
        _memoSpecVersion = _specVersion;
        _memoParentUserVersion = _parent?._effectiveUserVersion ?? 0;
        _memoGlobalsVersion = _runtime.GlobalsVersion;

        string? error;
        PanicClass? errorClass = null;
        Exception? failure = null;
        DeriveResult result = default;
        try
        {
            // Merge, scope and config render (SupervisorNode.Templating.cs); a template failure is a derive failure.
            UserSpec injected = BuildInjectedSpec();
            result = worker.Derive(injected);
            error = ValidateDerived(in result);
        }
        catch (InvariantViolationException)
        {
            throw;
        }
        catch (Exception ex)
        {
            // 30-supervision §9.1 site derive: counted in the panic window if Bug or Transient.
            error = ex.Message;
            failure = ex;
            errorClass = CountPanic(ex, "derive");
        }

        if (error is not null)
        {
            _runtime.Metrics.RecordDerive(Path, "error");
            LogDeriveFailure(error, failure);
            SetError(ErrorSource.Derive, error, now, errorClass);
            return false;
        }

        _runtime.Metrics.RecordDerive(Path, "ok");
        worker.Accept(in result);
        _hasAccepted = true;
        _acceptedState = result.State!; // ValidateDerived rejected a null or empty state.
        _acceptedChildren = result.Children;
        _reconcileRequested = true;
        ClearError(ErrorSource.Derive);
        return true;
    }

    /// <summary>§8.1: the whole result is validated before it is accepted; any violation rejects all of it.</summary>
    private static string? ValidateDerived(in DeriveResult result)
    {
        if (string.IsNullOrEmpty(result.State))
        {
            return "derive returned an empty state";
        }

        IReadOnlyList<ChildSpec>? children = result.Children;
        if (children is null || children.Count == 0)
        {
            return null;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < children.Count; i++)
        {
            ChildSpec? spec = children[i];
            if (spec is null)
            {
                return $"ChildSpec[{i}]: must not be null";
            }

            string? nameError = ChildNames.Validate(spec.Name);
            if (nameError is not null)
            {
                return $"ChildSpec[{i}]: {nameError}";
            }

            if (string.IsNullOrEmpty(spec.WorkerType))
            {
                return $"ChildSpec[{i}]: worker type must not be empty";
            }

            if (spec.StateMapping is not null)
            {
                foreach (KeyValuePair<string, string> pair in spec.StateMapping)
                {
                    if (string.IsNullOrEmpty(pair.Key) || string.IsNullOrEmpty(pair.Value))
                    {
                        return $"ChildSpec[{i}]: state mapping keys and values must not be empty";
                    }
                }
            }

            if (!names.Add(spec.Name))
            {
                return $"duplicate child name: {spec.Name}";
            }
        }

        return null;
    }

    private void StartCollectorIfNeeded(DateTimeOffset now)
    {
        if (_collector is { State: Collection.CollectorState.Created } collector)
        {
            collector.MarkRunning();
            _collectorStartedAt = now;
            _tickStats.SetCollectorStarted(now);
            _runtime.Scheduler.Start(collector);
        }
    }

    /// <summary>Step 9: freshness (§5.2), collector supervision (§5.3) and the action gate.</summary>
    private bool PassesGates(DateTimeOffset now)
    {
        WorkerHandle worker = _worker!; // the caller checked.
        if (worker.TryGetObservation(out DateTimeOffset collectedAt, out _))
        {
            _tickStats.SetObservedAt(collectedAt);
        }
        else
        {
            if (ShutdownRequested)
            {
                // Never observed, so it never ran Next and never started anything: it is done at once.
                ProcessNeedsRemoval(now);
                return false;
            }

            if (_collector is { State: Collection.CollectorState.Running })
            {
                // §5.2: without an observation the age runs from the collector's start; a first observation that has not
                // arrived within StaleThreshold is a stale pause like any other (logged once, fresh again on arrival).
                TimeSpan age = now - _collectorStartedAt;
                if (!_isRoot && age >= _runtime.Options.StaleThreshold)
                {
                    EnterStalePause(age);
                }

                SuperviseCollector(now, age);
            }

            return false;
        }

        if (!ShutdownRequested && !_isRoot)
        {
            TimeSpan age = now - collectedAt;
            if (age >= _runtime.Options.StaleThreshold)
            {
                EnterStalePause(age);
                SuperviseCollector(now, age);
                return false;
            }

            if (_paused)
            {
                _paused = false;
                _tickStats.SetStale(false);
                Log.ObservationFresh(_runtime.SupervisionLogger, Path, age.TotalMilliseconds);
            }

            if (_collectorRestarts > 0 && !_collectorDead)
            {
                Log.CollectorRecovered(_runtime.SupervisionLogger, Path, _collectorRestarts);
                _collectorRestarts = 0;
                _nextRestartAllowedAt = DateTimeOffset.MinValue;
                _runtime.MarkStatusDirty();
            }
        }

        // The observation gates (40-actions §8), compared on CollectedAt. Shutdown bypasses both so a winding-down
        // worker is never held back by a gate; one-in-flight and backoff still apply at enqueue.
        if (ShutdownRequested)
        {
            return true;
        }

        ActionSlot slot = ActionSlot;
        long stamp = collectedAt.UtcTicks;
        if (slot.InFlight)
        {
            // Gate 1: Next stays responsive (transitions apply) but never re-decides on data it has already seen.
            return stamp > slot.SeenCollectedAt;
        }

        // Gate 2: only data whose collection started after the action ended reflects the action's effect.
        return stamp > slot.GateCompletedAt;
    }

    /// <summary>§5.2: entering the stale pause logs <c>observation_stale</c> once and counts it.</summary>
    private void EnterStalePause(TimeSpan age)
    {
        if (!_paused)
        {
            _paused = true;
            _tickStats.SetStale(true);
            _runtime.Metrics.StalePauses.Add(1);
            Log.ObservationStale(_runtime.SupervisionLogger, Path, age.TotalMilliseconds);
        }
    }

    /// <summary>§5.3: restart the collector on a timed-out tick, with linear backoff; escalate after the last restart.</summary>
    private void SuperviseCollector(DateTimeOffset now, TimeSpan age)
    {
        if (age < _runtime.Options.CollectorTimeout || ShutdownRequested || now < _nextRestartAllowedAt || _collector is null)
        {
            return;
        }

        RuntimeOptions options = _runtime.Options;
        if (_collectorRestarts < options.MaxCollectorRestarts)
        {
            _collector.BumpGeneration();
            _runtime.Scheduler.Restart(_collector);
            _collectorRestarts++;
            _nextRestartAllowedAt = now + (options.CollectorRestartStep * (_collectorRestarts + 1));
            _runtime.Metrics.CollectorRestarts.Add(1, new KeyValuePair<string, object?>("node", Path));
            _runtime.MarkStatusDirty();
            Log.CollectorRestarted(_runtime.SupervisionLogger, Path, _collectorRestarts);
            return;
        }

        if (!_collectorDead)
        {
            _collectorDead = true;
            _collectorDeadAt = _runtime.TickStamp;
            _runtime.Metrics.CollectorEscalations.Add(1, new KeyValuePair<string, object?>("node", Path));
            Log.CollectorEscalated(_runtime.SupervisionLogger, Path, _collectorRestarts);
            SetError(ErrorSource.Collector, $"collector of '{Path}' unresponsive after {_collectorRestarts} restarts", now);
            RequestShutdown(ShutdownReason.CollectorUnresponsive, now);
        }
    }

    /// <summary>Steps 10–11: evaluate the current state and apply action, transition, reason and signal.</summary>
    private void Evaluate(DateTimeOffset now)
    {
        WorkerHandle worker = _worker!; // the caller checked.
        string previousReason = worker.Reason;
        EvaluateResult result;
        try
        {
            ActionStatus status = ActionSlot.Status;
            result = worker.Evaluate(now, _view, in status);
        }
        catch (InvariantViolationException)
        {
            throw;
        }
        catch (Exception ex)
        {
            // 30-supervision §9.1 site next: no transition and no action this tick; Next runs again next tick.
            ContainPanic(ex, "next", now, ErrorSource.Evaluate, $"Next of state '{worker.CurrentStateName}' threw {ex.GetType().Name}: {ex.Message}");
            return;
        }

        ClearError(ErrorSource.Evaluate);
        ActionSlot.SeenCollectedAt = result.ObservedAt.UtcTicks;
        if (result.Action is not null)
        {
            EnqueueAction(result.Action, result.ActionArgs, now);
        }

        if (result.Transitioned)
        {
            _stateEnteredAt = now;
            _runtime.Metrics.StateTransitions.Add(1);
            Log.StateTransition(_runtime.SupervisionLogger, Path, result.From, result.To, worker.Reason);
            _runtime.MarkStatusDirty();
        }
        else if (!string.Equals(previousReason, worker.Reason, StringComparison.Ordinal))
        {
            _runtime.MarkStatusDirty();
        }

        switch (result.Signal)
        {
            case Signal.NeedsRemoval:
                ProcessNeedsRemoval(now);
                break;
            case Signal.NeedsRestart:
                if (!ShutdownRequested)
                {
                    _restartPending = true;
                    _restartRequestedAt = now;
                    RequestShutdown(ShutdownReason.RestartRequested, now);
                }

                break;
        }
    }

    /// <summary>
    /// The enqueue rules of 40-actions §7, in order. Only <see cref="EnqueueResult.Enqueued"/> changes the slot; a
    /// refused action is not lost, because Next runs again on a later tick and returns it again if still wanted.
    /// </summary>
    private EnqueueResult EnqueueAction(IAction action, object? args, DateTimeOffset now)
    {
        ActionSlot slot = ActionSlot;
        if (slot.InFlight)
        {
            _runtime.Metrics.CountDuplicate();
            Log.ActionDuplicate(_runtime.ActionsLogger, Path, action.Kind);
            return EnqueueResult.Duplicate;
        }

        if (now.UtcTicks < slot.RetryNotBefore)
        {
            _runtime.Metrics.CountBackoffDeferred();
            return EnqueueResult.BackoffDeferred;
        }

        var context = new ActionContext
        {
            Worker = Identity,
            NodePath = Path,
            Dependencies = _worker!.Worker, // an action only comes from an evaluation of a live worker.
            Args = args,
            Time = _runtime.Time,
            Logger = _runtime.ActionsLogger,
        };
        if (!_runtime.Executor.TryEnqueue(slot, action, in context))
        {
            // Not lost: the state is unchanged, so the next evaluation emits the action again. No backoff is charged.
            _runtime.Metrics.ActionQueueFull.Add(1);
            _runtime.ReportQueueFull(Path, action.Kind);
            return EnqueueResult.QueueFull;
        }

        slot.InFlightSince = now.UtcTicks;
        slot.EmittedDuringShutdown = ShutdownRequested;
        _runtime.Metrics.AdjustInFlight(1);

        // 50-runtime-monitoring §6.3 `action`: live fields beside the tick counters (plain stores, 0 B), so actions never
        // force a status rebuild; the publisher notices the change on its next poll.
        _tickStats.SetAction(action.Kind, slot.InFlightSince, slot.ConsecutiveFailures + 1);
        return EnqueueResult.Enqueued;
    }

    /// <summary>Applies one action completion from the executor (tick thread, start of the tick).</summary>
    internal void ApplyCompletion(in ActionCompletion completion)
    {
        ActionSlot slot = ActionSlot;
        if (Lifecycle == NodeLifecycle.Finalized || completion.Generation != slot.Generation || !slot.InFlight)
        {
            _runtime.Metrics.ActionLateCompletions.Add(1);
            return;
        }

        long completedAt = completion.CompletedAt;
        slot.AppendHistory(new ActionHistoryEntry(
            completion.Kind, completion.Outcome, completion.Error?.Message, slot.InFlightSince, completedAt, completion.Duration));
        _runtime.Metrics.AdjustInFlight(-1);
        slot.InFlight = false;
        slot.InFlightKind = null;
        slot.InFlightSince = 0;
        RecordResult(completion.Kind, completion.Outcome, completion.Error?.Message, completedAt);
    }

    /// <summary>
    /// Accepted result or abandonment: last result, gate 2 armed with <paramref name="stamp"/>, backoff (§11), and a
    /// collection request so the action's effect is observed soon.
    /// </summary>
    private void RecordResult(string kind, ActionOutcome outcome, string? error, long stamp)
    {
        ActionSlot slot = ActionSlot;
        slot.LastKind = kind;
        _tickStats.ClearAction();
        slot.LastOutcome = outcome;
        slot.LastError = error;
        slot.LastCompletedAt = stamp;
        slot.GateCompletedAt = stamp;
        if (outcome == ActionOutcome.Success)
        {
            slot.ConsecutiveFailures = 0;
            slot.RetryNotBefore = 0;
        }
        else if (ActionBackoff.IsFailure(outcome))
        {
            RuntimeOptions options = _runtime.Options;
            int failures = ++slot.ConsecutiveFailures;
            slot.RetryNotBefore = ActionBackoff.RetryNotBefore(
                stamp, failures, options.ActionBackoffBase, options.ActionBackoffMax, options.ActionBackoffJitter!.Value, _runtime.BackoffRandom);
        }

        if (_collector is { State: Collection.CollectorState.Running })
        {
            _runtime.Scheduler.RequestCollection(_collector);
        }
    }

    /// <summary>
    /// 40-actions §10, tick thread: the in-flight action of this worker has run for <paramref name="age"/>. At 2T it
    /// is reported stuck (once); at 3T it is abandoned, so the worker is no longer held by an action that ignores its
    /// token. Thresholds compare ticks by division, so a timeout of "never" (about 49 days) cannot overflow.
    /// </summary>
    internal void SuperviseRunningAction(in RunningAction running, TimeSpan age, DateTimeOffset now)
    {
        ActionSlot slot = ActionSlot;
        long timeout = running.Timeout.Ticks;
        if (age.Ticks / 2 < timeout)
        {
            return;
        }

        KeyValuePair<string, object?> typeTag = new("worker_type", WorkerType);
        KeyValuePair<string, object?> actionTag = new("action", running.Kind);
        if (slot.StuckWarnedGeneration != running.Generation)
        {
            slot.StuckWarnedGeneration = running.Generation;
            _runtime.Metrics.ActionStuck.Add(1, typeTag, actionTag);
            Log.ActionStuck(_runtime.ActionsLogger, Path, running.Kind, age.TotalMilliseconds, running.Timeout.TotalMilliseconds);
        }

        if (age.Ticks / 3 < timeout)
        {
            return;
        }

        // The execution goes on (its thread is not ours to stop); a new generation makes its completion late, so it is
        // discarded and its envelope returns to the pool when it ends.
        long stamp = now.UtcTicks;
        slot.AppendHistory(new ActionHistoryEntry(running.Kind, ActionOutcome.Abandoned, AbandonedError, slot.InFlightSince, stamp, age));
        _runtime.Metrics.AdjustInFlight(-1);
        slot.Generation++;
        slot.InFlight = false;
        slot.InFlightKind = null;
        slot.InFlightSince = 0;
        RecordResult(running.Kind, ActionOutcome.Abandoned, AbandonedError, stamp);
        _runtime.Metrics.ActionAbandoned.Add(1, typeTag, actionTag);
        _runtime.Metrics.ActionDuration.Record(age.TotalSeconds, new KeyValuePair<string, object?>("outcome", ActionOutcome.Abandoned.ToTag()));
        Log.ActionAbandoned(_runtime.ActionsLogger, Path, running.Kind, age.TotalMilliseconds, running.Timeout.TotalMilliseconds);
        _runtime.Executor.OnAbandoned(in running);
    }

    // The error text of an abandoned action: a constant, so abandoning formats nothing for ActionStatus.
    private const string AbandonedError = "abandoned: still running at three times its timeout";

    /// <summary>
    /// §2.8: the worker instance is done; no further Next, its action is cancelled, its collector stopped. The one
    /// exception is the end of the shutdown walk that collector escalation requested (30-supervision §8.3): that node
    /// stays in its parent's active set until the parent restarts it, and a restart keeps the in-flight action
    /// (30-supervision §7.2 step 5, 40-actions §12.1), so the action keeps running, its slot keeps it in flight (no second
    /// enqueue) and its result reaches the new instance. Removal and finalization still cancel it.
    /// </summary>
    /// <remarks>
    /// Rule chosen where the spec files disagree: 40-actions §12.2 ("Worker done": an action still in flight when W signals
    /// <c>NeedsRemoval</c> is cancelled) against 30-supervision §7.2 step 5 and 40-actions §12.1 (a restart does not cancel
    /// the in-flight action). A node whose shutdown walk was requested by collector escalation
    /// (<see cref="ShutdownReason.CollectorUnresponsive"/>, collector-dead) and which now awaits a restart by its parent
    /// (<see cref="AwaitsRestartByParent"/>: still active, has a parent, the runtime not shutting down) keeps its in-flight
    /// action: its <c>NeedsRemoval</c> is the first half of that restart, not a removal (60-scenarios E-09: the restart
    /// does not cancel <c>connect</c>, whose timeout result the new instance sees). Every other <c>NeedsRemoval</c>
    /// (removal, type change, worker-requested restart, runtime shutdown) cancels it as §12.2 says; a waiting node that is
    /// later removed by its parent or finalized (runtime shutdown) has it cancelled then.
    /// </remarks>
    private void ProcessNeedsRemoval(DateTimeOffset now)
    {
        _workerDone = true;
        if (!AwaitsRestartByParent)
        {
            CancelInFlightAction();
        }

        StopCollector();
        _runtime.MarkStatusDirty();

        bool runtimeStopping = _runtime.IsShuttingDown;
        if (_restartPending && Lifecycle == NodeLifecycle.Active && !runtimeStopping && _parent is not null)
        {
            _restartPending = false;
            RecreateWorker(now, "restart_requested");
            return;
        }

        _restartPending = false;
        if (Lifecycle == NodeLifecycle.Active && !_collectorDead && _parent is not null && !runtimeStopping)
        {
            // §11.2: the parent moves this node to its removing set after ticking its children.
            _selfRemoved = true;
        }
    }

    /// <summary>
    /// Removal, <c>NeedsRemoval</c> and finalization cancel the in-flight action through its token (without waiting)
    /// and give up on it: the slot moves to a new generation, so the cancelled action's late completion is discarded
    /// and shutdown-path actions are not blocked behind it.
    /// </summary>
    private void CancelInFlightAction()
    {
        ActionSlot slot = ActionSlot;
        if (slot.InFlight)
        {
            slot.RequestCancel();
            _runtime.Metrics.AdjustInFlight(-1);
            slot.Generation++;
            slot.LastKind = slot.InFlightKind;
            slot.InFlight = false;
            slot.InFlightKind = null;
            slot.InFlightSince = 0;
            slot.LastOutcome = Execution.ActionOutcome.Cancelled;
            _tickStats.ClearAction();
        }
    }

    /// <summary>The worker ended the shutdown walk that collector escalation requested; the parent's breaker restarts it.</summary>
    private bool AwaitsRestartByParent
        => _collectorDead && ShutdownReason == ShutdownReason.CollectorUnresponsive && Lifecycle == NodeLifecycle.Active
            && _parent is not null && !_runtime.IsShuttingDown;

    private void StopCollector()
    {
        if (_collector is not null && _collector.MarkStopped())
        {
            _runtime.Scheduler.Stop(_collector);
        }
    }

    /// <summary>§11.3 / 30-supervision §7.3: the worker-requested restart, after its graceful shutdown.</summary>
    private void RecreateWorker(DateTimeOffset now, string reason)
    {
        if (!ReplaceWorkerInstance(now))
        {
            return;
        }

        ShutdownRequested = false;
        ShutdownReason = ShutdownReason.None;
        _runtime.Metrics.NodeRestarts.Add(1, new KeyValuePair<string, object?>("reason", "signal"));
        Log.NodeRestart(_runtime.TreeLogger, Path, reason);
    }

    /// <summary>
    /// A fresh worker instance for the same identity and stored spec, with a new collector, in its initial state; the
    /// derive memo is reset so the new instance derives (and reconciles its subtree) in its first full tick. The node,
    /// its children, breakers, probes and action slot stay.
    /// </summary>
    private bool ReplaceWorkerInstance(DateTimeOffset now)
    {
        WorkerHandle fresh;
        try
        {
            fresh = _runtime.Factory.Create(WorkerType, Identity);
            fresh.Initialize();
        }
        catch (Exception ex) when (ex is not InvariantViolationException)
        {
            SetError(ErrorSource.Reconcile, $"failed to re-create worker '{Path}': {ex.Message}", now);
            return false;
        }

        AttachWorker(fresh);
        Incarnation++;
        _hasAccepted = false;
        _memoSpecVersion = -1;
        _paused = false;
        _collectorRestarts = 0;
        _nextRestartAllowedAt = DateTimeOffset.MinValue;
        _stateEnteredAt = now;
        ActionSlot.GateCompletedAt = 0;
        ActionSlot.SeenCollectedAt = 0;
        _runtime.MarkStatusDirty();
        return true;
    }

    /// <summary>§11.3: a restart that did not finish in time goes back to the initial state with the flag cleared.</summary>
    private void ForceRestartFallback()
    {
        Log.RestartForced(_runtime.SupervisionLogger, Path, _runtime.Options.RestartTimeout.TotalSeconds);
        _restartPending = false;
        ShutdownRequested = false;
        ShutdownReason = ShutdownReason.None;
        _worker!.ResetToInitialState(); // a pending restart always has a live worker (the caller checked !_workerDone).
        _memoSpecVersion = -1;
        _runtime.MarkStatusDirty();
    }

    /// <summary>Sets the sticky shutdown flag (tick thread only). An earlier reason is kept.</summary>
    internal void RequestShutdown(ShutdownReason reason, DateTimeOffset now)
    {
        if (ShutdownRequested)
        {
            return;
        }

        ShutdownRequested = true;
        ShutdownReason = reason;
        ShutdownRequestedAt = now;
        _reconcileRequested = true;
        Log.ShutdownRequested(_runtime.SupervisionLogger, Path, ReasonName(reason));
        if (_hasAccepted && !_workerDone && _worker is not null)
        {
            _worker.PublishDesired(EffectiveDesiredState, true);
        }

        _runtime.MarkStatusDirty();
    }

    /// <summary>The root's configuration changed: its next tick re-derives.</summary>
    internal void BumpSpecVersion() => _specVersion++;

    internal void SetDesiredStateOverride(string? state)
    {
        if (!string.Equals(_mappedState, state, StringComparison.Ordinal))
        {
            _mappedState = state;
            _runtime.MarkStatusDirty();
        }
    }

    internal static string ReasonName(ShutdownReason reason) => reason switch
    {
        ShutdownReason.RemovedFromSpec => "removed_from_spec",
        ShutdownReason.TypeChanged => "type_changed",
        ShutdownReason.ParentShutdown => "parent_shutdown",
        ShutdownReason.RuntimeShutdown => "runtime_shutdown",
        ShutdownReason.RestartRequested => "restart_requested",
        ShutdownReason.CollectorUnresponsive => "collector_unresponsive",
        ShutdownReason.SelfRemoved => "self_removed",
        _ => "none",
    };
}
