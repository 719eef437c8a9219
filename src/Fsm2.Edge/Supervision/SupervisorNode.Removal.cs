using Fsm2.Edge.Observability;

namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorNode
{
    // Owner: tick thread. When this node's removal started (§12.1 step 2).
    private DateTimeOffset _removalStartedAt;

    /// <summary>§12.1 step 4: the worker is done (or never had an observation) and no children are left.</summary>
    private bool IsReadyToFinalize => (_workerDone || _worker is null) && _activeCount == 0 && _removingCount == 0;

    /// <summary>§12.1 step 2: move an active child to the removing set with its shutdown requested.</summary>
    private void StartRemoval(SupervisorNode child, ShutdownReason reason, DateTimeOffset now)
    {
        int index = Array.IndexOf(_active, child, 0, _activeCount);
        if (index >= 0)
        {
            Array.Copy(_active, index + 1, _active, index, _activeCount - index - 1);
            _active[--_activeCount] = null!; // cleared slot beyond the count; never read.
        }

        if (_removingCount == _removing.Length)
        {
            Array.Resize(ref _removing, Math.Max(4, _removing.Length * 2));
        }

        _removing[_removingCount++] = child;
        child.Lifecycle = NodeLifecycle.Removing;
        child._removalStartedAt = now;
        child._undeclaredSince = null;

        // §11.3 "removal wins": a pending restart is dropped, so its 30 s fallback can never clear the sticky flag
        // of a node that is being removed.
        child._restartPending = false;
        child.RequestShutdown(reason, now);
        child.CancelInFlightAction();

        Log.NodeRemoving(_runtime.TreeLogger, child.Path, child.WorkerType, ReasonName(child.ShutdownReason));
        _runtime.Metrics.RecordReconcile("remove");
        _mappingDirty = true;
        _runtime.MarkStatusDirty();
    }

    /// <summary>§12.3 / §12.4: finalize a removing child and its whole subtree, children before parents.</summary>
    private void FinalizeRemoved(SupervisorNode child, DateTimeOffset now, bool forced)
    {
        int index = Array.IndexOf(_removing, child, 0, _removingCount);
        Array.Copy(_removing, index + 1, _removing, index, _removingCount - index - 1);
        _removing[--_removingCount] = null!; // cleared slot beyond the count; never read.

        string finalState = child.CurrentStateName;
        child.FinalizeSubtree(now);
        TimeSpan duration = now - child._removalStartedAt;
        string outcome = forced ? "forced" : "graceful";
        _runtime.Metrics.ChildRemovalDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
        Log.NodeRemoved(_runtime.TreeLogger, child.Path, child.WorkerType, ReasonName(child.ShutdownReason), finalState, duration.TotalMilliseconds);
        _reconcileRequested = true;
        _runtime.MarkStatusDirty();
    }

    /// <summary>Finalizes this node and everything below it: cancel actions, stop collectors, delete records.</summary>
    internal void FinalizeSubtree(DateTimeOffset now)
    {
        for (int i = 0; i < _activeCount; i++)
        {
            _active[i].FinalizeSubtree(now);
        }

        for (int i = 0; i < _removingCount; i++)
        {
            _removing[i].FinalizeSubtree(now);
        }

        Array.Clear(_active);
        Array.Clear(_removing);
        _activeCount = 0;
        _removingCount = 0;
        CancelInFlightAction();

        StopCollector();
        DetachProbes();
        _workerDone = true;
        Lifecycle = NodeLifecycle.Finalized;
        _runtime.RecordFinalStatus(this);
        _runtime.UnregisterNode(this);
    }

    /// <summary>Paths of every live node in this subtree, children before parents (for the forced-shutdown log).</summary>
    internal void CollectLivePaths(List<string> paths)
    {
        for (int i = 0; i < _activeCount; i++)
        {
            _active[i].CollectLivePaths(paths);
        }

        for (int i = 0; i < _removingCount; i++)
        {
            _removing[i].CollectLivePaths(paths);
        }

        if (!_isRoot && Lifecycle != NodeLifecycle.Finalized)
        {
            paths.Add(Path);
        }
    }

    /// <summary>The root is finalized by the runtime once its worker is done and no children are left.</summary>
    internal bool RootDrained => IsReadyToFinalize;
}
