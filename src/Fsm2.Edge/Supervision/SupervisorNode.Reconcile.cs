using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorNode
{
    // Owner: tick thread. Children live in compact arrays in spec order; dictionaries are built only while reconciling.
    private SupervisorNode[] _active = [];
    private int _activeCount;
    private SupervisorNode[] _removing = [];
    private int _removingCount;

    // Owner: tick thread. When reconcile must run again (§4.2 step 5).
    private bool _reconcileRequested;
    private DateTimeOffset _reconcileRetryAt = DateTimeOffset.MaxValue;
    private bool _hasCreateFailures;
    private long _retryFactoryVersion;
    private Dictionary<string, CreateFailure>? _createFailures;
    private HashSet<string>? _selfRemovedNames;

    // Owner: tick thread. Names whose old node is being removed for a type change; their next creation counts as
    // operation=replace (§8.4 step 4).
    private HashSet<string>? _replacedNames;

    // Owner: tick thread. Mapping runs only when the effective state or a child's mapping changed (§9).
    private bool _mappingDirty = true;

    // Owner: tick thread. As a child: since when the parent no longer declares it (RemovalGrace).
    private DateTimeOffset? _undeclaredSince;

    // Owner: tick thread. The view handed to Next, and the scratch row used to detect a change without allocating.
    private ChildrenView _view = ChildrenView.Empty;
    private ChildInfo[] _viewScratch = [];

    /// <summary>Active child names in spec order.</summary>
    /// <returns>A new list.</returns>
    public IReadOnlyList<string> ListChildren()
    {
        var names = new string[_activeCount];
        for (int i = 0; i < _activeCount; i++)
        {
            names[i] = _active[i].Name;
        }

        return names;
    }

    /// <summary>Names of children being removed, in removal order.</summary>
    /// <returns>A new list.</returns>
    public IReadOnlyList<string> ListRemovingChildren()
    {
        var names = new string[_removingCount];
        for (int i = 0; i < _removingCount; i++)
        {
            names[i] = _removing[i].Name;
        }

        return names;
    }

    /// <summary>The active child with that name, else <see langword="null"/>.</summary>
    /// <param name="name">The child name (ordinal).</param>
    /// <returns>The child node or <see langword="null"/>.</returns>
    public SupervisorNode? GetChild(string name) => FindActive(name);

    /// <summary>The removing child with that name, else <see langword="null"/>.</summary>
    /// <param name="name">The child name (ordinal).</param>
    /// <returns>The child node or <see langword="null"/>.</returns>
    public SupervisorNode? GetRemovingChild(string name)
    {
        for (int i = 0; i < _removingCount; i++)
        {
            if (string.Equals(_removing[i].Name, name, StringComparison.Ordinal))
            {
                return _removing[i];
            }
        }

        return null;
    }

    internal ReadOnlySpan<SupervisorNode> ActiveChildren => _active.AsSpan(0, _activeCount);

    internal ReadOnlySpan<SupervisorNode> RemovingChildren => _removing.AsSpan(0, _removingCount);

    private SupervisorNode? FindActive(string name)
    {
        for (int i = 0; i < _activeCount; i++)
        {
            if (string.Equals(_active[i].Name, name, StringComparison.Ordinal))
            {
                return _active[i];
            }
        }

        return null;
    }

    /// <summary>
    /// §8: makes the active children match the effective declaration. Order: removals (including replacements),
    /// updates, creations in spec order. Creation failures are per child; the rest proceeds.
    /// </summary>
    private void Reconcile(DateTimeOffset now)
    {
        _reconcileRequested = false;
        _reconcileRetryAt = DateTimeOffset.MaxValue;
        _retryFactoryVersion = _runtime.Factory.Version;
        bool windingDown = ShutdownRequested || Lifecycle != NodeLifecycle.Active;
        IReadOnlyList<ChildSpec> declared = windingDown || !_hasAccepted ? [] : (_acceptedChildren ?? []);

        Dictionary<string, ChildSpec>? byName = null;
        if (declared.Count > 0)
        {
            byName = new Dictionary<string, ChildSpec>(declared.Count, StringComparer.Ordinal);
            foreach (ChildSpec spec in declared)
            {
                byName[spec.Name] = spec;
            }
        }

        // 1. Removals and replacements; kept children are updated in place (2).
        var kept = new Dictionary<string, SupervisorNode>(_activeCount, StringComparer.Ordinal);
        List<SupervisorNode>? graced = null;
        bool setChanged = false;

        // StartRemoval shrinks _active while this loop runs, so it walks a copy.
        SupervisorNode[] current = _active.AsSpan(0, _activeCount).ToArray();
        foreach (SupervisorNode child in current)
        {
            if (byName is not null && byName.TryGetValue(child.Name, out ChildSpec? spec))
            {
                if (!string.Equals(spec.WorkerType, child.WorkerType, StringComparison.Ordinal))
                {
                    Log.NodeReplaced(_runtime.TreeLogger, child.Path, child.WorkerType, spec.WorkerType);
                    (_replacedNames ??= new HashSet<string>(StringComparer.Ordinal)).Add(child.Name);
                    StartRemoval(child, ShutdownReason.TypeChanged, now);
                    setChanged = true;
                    continue;
                }

                if (child._undeclaredSince is not null)
                {
                    child._undeclaredSince = null;
                    Log.NodeRemovalCancelled(_runtime.TreeLogger, child.Path);
                }

                kept[child.Name] = child;
                continue;
            }

            TimeSpan grace = child._spec.RemovalGrace;
            if (!windingDown && grace > TimeSpan.Zero)
            {
                DateTimeOffset since = child._undeclaredSince ??= now;
                if (now - since < grace)
                {
                    (graced ??= []).Add(child);
                    if (since + grace < _reconcileRetryAt)
                    {
                        _reconcileRetryAt = since + grace;
                    }

                    continue;
                }
            }

            StartRemoval(child, windingDown ? ShutdownReasonForWindDown() : ShutdownReason.RemovedFromSpec, now);
            setChanged = true;
        }

        // 2. Updates in place, 3. creations in spec order.
        var next = new SupervisorNode[declared.Count + (graced?.Count ?? 0)];
        int count = 0;
        List<string>? failures = null;
        _hasCreateFailures = false;
        foreach (ChildSpec spec in declared)
        {
            if (kept.TryGetValue(spec.Name, out SupervisorNode? existing))
            {
                existing.UpdateSpec(spec);
                next[count++] = existing;
                continue;
            }

            if (GetRemovingChild(spec.Name) is not null)
            {
                // §12.2: the name is reserved until the removing node is finalized, which requests a reconcile.
                Log.ChildDeferred(_runtime.TreeLogger, Path, spec.Name);
                continue;
            }

            SupervisorNode? created = TryCreateChild(spec, now, ref failures);
            if (created is not null)
            {
                next[count++] = created;
                setChanged = true;
            }
        }

        if (_replacedNames is { Count: > 0 })
        {
            // A replaced name that is no longer declared is a plain removal now; a later declaration is an add.
            if (byName is null)
            {
                _replacedNames.Clear();
            }
            else
            {
                _replacedNames.IntersectWith(byName.Keys);
            }
        }

        if (graced is not null)
        {
            foreach (SupervisorNode child in graced)
            {
                next[count++] = child;
            }
        }

        if (!setChanged && count == current.Length)
        {
            for (int i = 0; i < count; i++)
            {
                if (!ReferenceEquals(next[i], current[i]))
                {
                    setChanged = true;
                    break;
                }
            }
        }
        else
        {
            setChanged = true;
        }

        if (setChanged)
        {
            Array.Clear(_active);
            _active = next;
            _activeCount = count;
            _mappingDirty = true;
            _runtime.MarkStatusDirty();
        }

        if (failures is null)
        {
            _createFailures?.Clear();
            ClearError(ErrorSource.Reconcile);
        }
        else
        {
            SetError(ErrorSource.Reconcile, string.Join("; ", failures), now);
        }
    }

    private ShutdownReason ShutdownReasonForWindDown()
        => ShutdownReason == ShutdownReason.RuntimeShutdown || _runtime.IsShuttingDown ? ShutdownReason.RuntimeShutdown : ShutdownReason.ParentShutdown;

    /// <summary>§8.4: creates one child; any failure leaves nothing behind and is retried later.</summary>
    private SupervisorNode? TryCreateChild(ChildSpec spec, DateTimeOffset now, ref List<string>? failures)
    {
        long factoryVersion = _runtime.Factory.Version;

        // A re-derived, structurally equal spec is not a spec change, so it does not bypass the retry interval.
        if (_createFailures is not null && _createFailures.TryGetValue(spec.Name, out CreateFailure? previous)
            && previous.Spec.StructurallyEquals(spec) && previous.FactoryVersion == factoryVersion
            && now < previous.At + _runtime.Options.ChildCreationRetryInterval)
        {
            // Not due yet: keep the error visible and come back when the retry interval has passed.
            (failures ??= []).Add(previous.Message);
            _hasCreateFailures = true;
            DateTimeOffset due = previous.At + _runtime.Options.ChildCreationRetryInterval;
            if (due < _reconcileRetryAt)
            {
                _reconcileRetryAt = due;
            }

            return null;
        }

        string path = _isRoot ? spec.Name : Path + "/" + spec.Name;
        int depth = Depth + 1;
        string? reason = null;
        string? message = null;
        WorkerHandle? worker = null;
        if (depth > _runtime.Options.MaxHierarchyDepth)
        {
            reason = "depth";
            message = $"max hierarchy depth ({_runtime.Options.MaxHierarchyDepth}) exceeded creating '{path}': possible circular dependency";
        }
        else
        {
            var identity = new Identity(path, spec.Name, spec.WorkerType, Path);
            try
            {
                worker = _runtime.Factory.Create(spec.WorkerType, identity);
                worker.Initialize();
            }
            catch (ArgumentException ex) when (worker is null && !_runtime.Factory.IsRegistered(spec.WorkerType))
            {
                reason = "unknown_type";
                message = ex.Message.Split(" (Parameter", 2)[0];
            }
            catch (Exception ex) when (ex is not InvariantViolationException)
            {
                reason = "factory";
                message = ex.Message;
                worker = null;
            }
        }

        if (worker is null)
        {
            string full = $"failed to create child '{spec.Name}': {message}";
            (failures ??= []).Add(full);
            _hasCreateFailures = true;
            _createFailures ??= new Dictionary<string, CreateFailure>(StringComparer.Ordinal);
            bool log = !_createFailures.TryGetValue(spec.Name, out CreateFailure? last)
                || !string.Equals(last.Message, full, StringComparison.Ordinal)
                || now - last.LoggedAt >= _runtime.Options.FailureLogInterval;
            _createFailures[spec.Name] = new CreateFailure(spec, factoryVersion, now, full, log ? now : last!.LoggedAt);
            if (log)
            {
                Log.ChildCreateFailed(_runtime.TreeLogger, Path, spec.Name, spec.WorkerType, message!);
            }

            _runtime.Metrics.ChildCreateFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
            DateTimeOffset due = now + _runtime.Options.ChildCreationRetryInterval;
            if (due < _reconcileRetryAt)
            {
                _reconcileRetryAt = due;
            }

            return null;
        }

        _createFailures?.Remove(spec.Name);
        var child = new SupervisorNode(_runtime, this, spec, depth, worker, now);
        _runtime.RegisterNode(child);
        Log.NodeAdded(_runtime.TreeLogger, path, spec.WorkerType);
        if (_selfRemovedNames is not null && _selfRemovedNames.Remove(spec.Name))
        {
            Log.NodeRestart(_runtime.TreeLogger, path, "self_removed");
            _runtime.Metrics.NodeRestarts.Add(1, new KeyValuePair<string, object?>("reason", "signal"));
        }

        bool replacing = _replacedNames is not null && _replacedNames.Remove(spec.Name);
        _runtime.Metrics.RecordReconcile(replacing ? "replace" : "add");
        return child;
    }

    /// <summary>§8.3: update in place; the instance, FSM state, collector and in-flight action stay.</summary>
    private void UpdateSpec(ChildSpec spec)
    {
        if (ReferenceEquals(_spec, spec))
        {
            return;
        }

        ChildSpec previous = _spec;
        _spec = spec;
        if (!ChildSpec.MappingEquals(_stateMapping, spec.StateMapping))
        {
            _parent!._mappingDirty = true; // only children are updated, and children have parents.
        }

        _stateMapping = spec.StateMapping;
        if (!previous.StructurallyEquals(spec))
        {
            _specVersion++;
            Log.NodeUpdated(_runtime.TreeLogger, Path, WorkerType);
            _runtime.Metrics.RecordReconcile("update");
        }
    }

    /// <summary>§9: the parent's effective desired state keys every active child's mapping.</summary>
    private void ApplyStateMapping(string effective)
    {
        _mappingDirty = false;
        for (int i = 0; i < _activeCount; i++)
        {
            SupervisorNode child = _active[i];
            if (child._stateMapping is { Count: > 0 } mapping && mapping.TryGetValue(effective, out string? mapped))
            {
                child.SetDesiredStateOverride(mapped);
            }
        }
    }

    /// <summary>Step 7: active children in spec order, then removing ones; then self-removal and finalization.</summary>
    private void TickChildren(DateTimeOffset now, CancellationToken cancellationToken)
    {
        for (int i = 0; i < _activeCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _active[i].TickIsolated(now, cancellationToken);
        }

        for (int i = 0; i < _removingCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _removing[i].TickIsolated(now, cancellationToken);
        }

        for (int i = 0; i < _activeCount; i++)
        {
            SupervisorNode child = _active[i];
            if (child._selfRemoved)
            {
                child._selfRemoved = false;
                (_selfRemovedNames ??= new HashSet<string>(StringComparer.Ordinal)).Add(child.Name);
                StartRemoval(child, ShutdownReason.SelfRemoved, now);
                _reconcileRequested = true;
                i--;
            }
        }

        for (int i = 0; i < _removingCount; i++)
        {
            SupervisorNode child = _removing[i];
            if (child.IsReadyToFinalize)
            {
                FinalizeRemoved(child, now, forced: false);
                i--;
            }
            else if (now - child._removalStartedAt >= _runtime.Options.RemovalTimeout)
            {
                Log.NodeRemovalForced(_runtime.TreeLogger, child.Path, _runtime.Options.RemovalTimeout.TotalSeconds, child.CurrentStateName);
                FinalizeRemoved(child, now, forced: true);
                i--;
            }
        }
    }

    /// <summary>§11.1: a child's failure never fails its parent's tick. Invariant violations are the exception.</summary>
    private void TickIsolated(DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            Tick(now, cancellationToken);
        }
        catch (Exception ex) when (ex is not InvariantViolationException and not OperationCanceledException)
        {
            ContainSupervisionFault(ex, now);
        }
    }

    /// <summary>Step 8: a new view only when an active child's type, state or reason, or the active set, changed.</summary>
    private void RefreshChildrenView()
    {
        if (_activeCount == 0)
        {
            if (_view.Count != 0)
            {
                _view = ChildrenView.Empty;
            }

            return;
        }

        if (_viewScratch.Length < _activeCount)
        {
            _viewScratch = new ChildInfo[_active.Length];
        }

        Span<ChildInfo> current = _viewScratch.AsSpan(0, _activeCount);
        for (int i = 0; i < current.Length; i++)
        {
            SupervisorNode child = _active[i];
            current[i] = new ChildInfo(child.Name, child.WorkerType, child.CurrentStateName, child.Reason);
        }

        if (!_view.Matches(current))
        {
            _view = new ChildrenView(current.ToArray());
            _runtime.MarkStatusDirty();
        }
    }

    private sealed record CreateFailure(ChildSpec Spec, long FactoryVersion, DateTimeOffset At, string Message, DateTimeOffset LoggedAt);
}
