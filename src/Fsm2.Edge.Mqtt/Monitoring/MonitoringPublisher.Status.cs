using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Observability;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>Node status: change detection, the per-node minimum interval, and clearing removed nodes.</summary>
public sealed partial class MonitoringPublisher
{
    /// <summary>The least time between two <c>status_observed_failed</c> lines of one node (the first failure is logged at
    /// once; the failures in between are counted in the next line's <c>suppressed</c>).</summary>
    internal static readonly TimeSpan ObservedFailureLogInterval = TimeSpan.FromMinutes(1);

    // Owner: the pump. What was last published per node path.
    private readonly Dictionary<string, NodeRecord> _nodes = new(StringComparer.Ordinal);

    // Owner: the pump. The scratch buffer of a node's `observed` object.
    private readonly System.Buffers.ArrayBufferWriter<byte> _observedBuffer = new(512);
    private readonly HashSet<string> _livePaths = new(StringComparer.Ordinal);

    // Paths whose final (shutdown) status was already published.
    private readonly HashSet<string> _finalPublished = new(StringComparer.Ordinal);
    private RuntimeStatus? _lastStatus;

    /// <summary>The node paths whose status is currently published (retained) by this publisher. Pump-owned; for tests
    /// read after the publisher is idle.</summary>
    internal IReadOnlyCollection<string> PublishedNodes => _nodes.Keys;

    private async ValueTask PublishStatusesAsync(RuntimeStatus status, bool all, CancellationToken ct)
    {
        long now = _time.GetTimestamp();
        DateTimeOffset wallNow = _time.GetUtcNow();
        long minInterval = ToStamp(_options.StatusMinInterval);
        bool statusChanged = !ReferenceEquals(status, _lastStatus);
        if (statusChanged)
        {
            _livePaths.Clear();
            foreach (NodeStatus node in status.Nodes)
            {
                _livePaths.Add(node.Path);
            }
        }

        foreach (NodeStatus node in status.Nodes)
        {
            if (_nodes.TryGetValue(node.Path, out NodeRecord? replaced)
                && !string.Equals(replaced.Latest.WorkerType, node.WorkerType, StringComparison.Ordinal))
            {
                // A type change re-creates the node under the same path (10-core-hierarchy: replace = remove + add):
                // the old node's status is cleared before the new one's is published, as for any removed node (E-35).
                _nodes.Remove(node.Path);
                _buffer.Clear();
                if (await TryPublishAsync(_options.StatusTopic(node.Path), EdgeQos.AtLeastOnce, retain: true, ct).ConfigureAwait(false))
                {
                    Log.StatusCleared(_logger, node.Path);
                }
            }

            if (!_nodes.TryGetValue(node.Path, out NodeRecord? record))
            {
                record = new NodeRecord(node, wallNow);
                _nodes.Add(node.Path, record);
                await PublishNodeAsync(record, now, wallNow, ct).ConfigureAwait(false);
                continue;
            }

            if (statusChanged && !ReferenceEquals(record.Latest, node))
            {
                if (!string.Equals(record.Latest.State, node.State, StringComparison.Ordinal))
                {
                    record.Since = wallNow;
                }

                if (!SameForPublishing(record.Published, node))
                {
                    record.Pending = true;
                }

                record.Latest = node;
            }

            // The in-flight action is live (it starts and ends without a new status): compared on every poll.
            if (!record.Pending && (node.Ticks?.ActionStamp ?? 0) != record.PublishedActionStamp)
            {
                record.Pending = true;
            }

            if (all || (record.Pending && now - record.PublishedAt >= minInterval))
            {
                await PublishNodeAsync(record, now, wallNow, ct).ConfigureAwait(false);
            }
        }

        if (statusChanged)
        {
            await PublishFinalStatusesAsync(status, wallNow, ct).ConfigureAwait(false);
            await ClearRemovedAsync(ct).ConfigureAwait(false);
            _lastStatus = status;
        }
    }

    // Nodes finalized by the runtime's shutdown: their final state (often reached in the tick that finalized them, so
    // never seen in Nodes) becomes their retained status (50-runtime-monitoring §10 step 4, E-13).
    private async ValueTask PublishFinalStatusesAsync(RuntimeStatus status, DateTimeOffset wallNow, CancellationToken ct)
    {
        foreach (NodeStatus final in status.FinalizedDuringShutdown)
        {
            if (!_finalPublished.Add(final.Path) || !_nodes.TryGetValue(final.Path, out NodeRecord? record))
            {
                continue;
            }

            if (!string.Equals(record.Latest.State, final.State, StringComparison.Ordinal))
            {
                record.Since = wallNow;
            }

            record.Latest = final;
            await PublishNodeAsync(record, _time.GetTimestamp(), wallNow, ct).ConfigureAwait(false);
        }
    }

    // Nodes gone from the tree: removed from the declaration (cleared) or finalized by shutdown (kept).
    private async ValueTask ClearRemovedAsync(CancellationToken ct)
    {
        List<string>? gone = null;
        foreach (string path in _nodes.Keys)
        {
            if (!_livePaths.Contains(path))
            {
                (gone ??= []).Add(path);
            }
        }

        if (gone is null)
        {
            return;
        }

        bool shuttingDown = _runtime.ShutdownRequested || Phase is RuntimePhase.Stopping or RuntimePhase.Offline;
        foreach (string path in gone)
        {
            NodeRecord record = _nodes[path];
            _nodes.Remove(path);
            if (shuttingDown)
            {
                // Finalized by the shutdown: the retained status stays, so it must be the final one even when the
                // per-node minimum interval held the last change back (E-31).
                if (record.Pending)
                {
                    await PublishNodeAsync(record, _time.GetTimestamp(), _time.GetUtcNow(), ct).ConfigureAwait(false);
                }

                continue;
            }

            // A disconnected client drops the clear; the orphan sweep after the next connect is the backstop (§6.7).
            _buffer.Clear();
            if (await TryPublishAsync(_options.StatusTopic(path), EdgeQos.AtLeastOnce, retain: true, ct).ConfigureAwait(false))
            {
                Log.StatusCleared(_logger, path);
            }
        }
    }

    private async ValueTask PublishNodeAsync(NodeRecord record, long now, DateTimeOffset wallNow, CancellationToken ct)
    {
        NodeStatus node = record.Latest;
        _buffer.Clear();
        // `since`: when the worker entered its state (runtime clock); statuses not built by a runtime fall back to when
        // the publisher first saw the state.
        DateTimeOffset since = node.StateSince != default ? node.StateSince : record.Since;
        MonitoringJson.WriteNodeStatus(_buffer, node, since, Volatile.Read(ref _config)?.Generation, _options.RuntimeId, wallNow,
            RenderObserved(record, now));
        if (await TryPublishAsync(_options.StatusTopic(node.Path), EdgeQos.AtLeastOnce, retain: true, ct).ConfigureAwait(false))
        {
            record.Published = node;
            record.PublishedActionStamp = node.Ticks?.ActionStamp ?? 0;
            record.PublishedAt = now;
            record.Pending = false;
        }
    }

    // The worker's `observed` object (50 §6.3) into the pump-owned scratch buffer, through the worker type's status writer,
    // on the observation the node's slot holds now (off the tick thread). Empty when there is none or the hook failed.
    // A failing hook fails on every publication of its node: status_observed_failed is logged for the node's first failure,
    // then at most once per ObservedFailureLogInterval with the count of the failures suppressed in between.
    private ReadOnlySpan<byte> RenderObserved(NodeRecord record, long now)
    {
        NodeStatus node = record.Latest;
        _observedBuffer.Clear();
        try
        {
            using var writer = new System.Text.Json.Utf8JsonWriter(_observedBuffer);
            if (!node.WriteObserved(writer))
            {
                return [];
            }

            writer.Flush();
            return _observedBuffer.WrittenSpan;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A worker's hook is user code: its failure costs this status its `observed`, nothing else.
            if (record.ObservedFailureLogged && now - record.ObservedFailureLoggedAt < ToStamp(ObservedFailureLogInterval))
            {
                record.ObservedFailuresSuppressed++;
                return [];
            }

            Log.StatusObservedFailed(_logger, node.Path, node.WorkerType, record.ObservedFailuresSuppressed, ex.Message);
            record.ObservedFailureLogged = true;
            record.ObservedFailureLoggedAt = now;
            record.ObservedFailuresSuppressed = 0;
            return [];
        }
    }

    // The fields whose change triggers a publication (§6.3); tick counters and the collector age ride along only.
    private static bool SameForPublishing(NodeStatus a, NodeStatus b)
    {
        if (!string.Equals(a.State, b.State, StringComparison.Ordinal)
            || !string.Equals(a.EffectiveDesiredState, b.EffectiveDesiredState, StringComparison.Ordinal)
            || !string.Equals(a.Reason, b.Reason, StringComparison.Ordinal)
            || a.Lifecycle != b.Lifecycle
            || a.ShutdownRequested != b.ShutdownRequested
            || a.Children.Count != b.Children.Count
            || a.CollectorRestartCount != b.CollectorRestartCount
            || a.CollectorDead != b.CollectorDead
            || a.Mode != b.Mode
            || !string.Equals(a.FrozenBy, b.FrozenBy, StringComparison.Ordinal)
            || a.PanicBreaker.Open != b.PanicBreaker.Open
            || a.Restarts != b.Restarts
            || !SameBreaker(a.Breaker, b.Breaker))
        {
            return false;
        }

        return a.LastError is null ? b.LastError is null : a.LastError.Equals(b.LastError);
    }

    // A breaker change is a change of state, attempt, label, causes, next trial or opening; the countdown is not.
    private static bool SameBreaker(BreakerStatus a, BreakerStatus b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.State != b.State || a.Attempt != b.Attempt || !string.Equals(a.Label, b.Label, StringComparison.Ordinal)
            || a.NextTrialAt != b.NextTrialAt || a.OpenSince != b.OpenSince || a.Causes.Count != b.Causes.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Causes.Count; i++)
        {
            if (!string.Equals(a.Causes[i], b.Causes[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Pump-owned bookkeeping of one node.</summary>
    private sealed class NodeRecord
    {
        public NodeRecord(NodeStatus node, DateTimeOffset since)
        {
            Latest = node;
            Published = node;
            Since = since;
        }

        public NodeStatus Latest { get; set; }

        public NodeStatus Published { get; set; }

        public long PublishedAt { get; set; }

        public bool Pending { get; set; }

        public long PublishedActionStamp { get; set; }

        public DateTimeOffset Since { get; set; }

        /// <summary>Whether <c>status_observed_failed</c> was logged for the node (the window below applies from then).</summary>
        public bool ObservedFailureLogged { get; set; }

        /// <summary>When <c>status_observed_failed</c> was last logged for the node (TimeProvider timestamp).</summary>
        public long ObservedFailureLoggedAt { get; set; }

        /// <summary>Failures of the node's status writer not logged since its last <c>status_observed_failed</c>.</summary>
        public int ObservedFailuresSuppressed { get; set; }
    }
}
