using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Observability;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>
/// The orphan sweep (shared/spec/50-runtime-monitoring.md §6.7): retained statuses of nodes deleted while the runtime
/// was down (or whose clear was lost while <c>mon</c> was disconnected) are found and cleared.
/// </summary>
/// <remarks>
/// <para><b>When.</b> After every (re)connect of <c>mon</c>, once the runtime has ticked at least once (so the declaration
/// is applied and the tree exists; the host starts the publisher before the runtime), the pump publishes every node's
/// status and then starts a sweep. A new connection abandons a sweep still running and starts its own.</para>
/// <para><b>How.</b> <c>mon</c> subscribes to <c>{prefix}/status/#</c> for <see cref="OrphanSweepWindow"/> (measured on
/// the injected <see cref="TimeProvider"/>) and collects the topics the broker sends from its retained store (flagged
/// retained, non-empty; live messages are ignored). When the window has passed, the route is disposed (unsubscribing)
/// and every collected node path that is not in the tree <i>at that moment</i> gets a zero-length retained message;
/// <c>status_orphans_cleared</c> logs the count, also when it is 0. Live nodes are never touched, and nodes created during
/// the window count as live. A sweep that ends while the runtime shuts down clears nothing (nodes finalized by shutdown
/// keep their final status, §6.7), nor does one whose connection dropped before the window ended.</para>
/// <para><b>Threads.</b> The route handler runs on the client's receive path and only adds to a locked set; everything
/// else runs in the pump, never on the tick thread.</para>
/// </remarks>
public sealed partial class MonitoringPublisher
{
    /// <summary>How long the orphan sweep listens for retained statuses (§6.7: 2 s).</summary>
    public static readonly TimeSpan OrphanSweepWindow = TimeSpan.FromSeconds(2);

    // Owner: the pump. Set on every (re)connect; the sweep starts once the runtime has ticked.
    private bool _sweepPending;

    // Owner: the pump. The running sweep, or null.
    private OrphanSweep? _sweep;

    /// <summary>Orphan sweeps completed so far (for tests and diagnostics).</summary>
    public long OrphanSweeps => Interlocked.Read(ref _orphanSweeps);

    private long _orphanSweeps;

    // Pump: called after the full status publish of a (re)connect.
    private void RequestOrphanSweep()
    {
        Interlocked.Exchange(ref _sweep, null)?.Dispose();
        _sweepPending = true;
    }

    // Any thread (stop, dispose): ends a running sweep's route without clearing anything.
    private void AbandonOrphanSweep() => Interlocked.Exchange(ref _sweep, null)?.Dispose();

    // Pump: starts a pending sweep once the tree exists; finishes a running one whose window has passed.
    private async ValueTask RunOrphanSweepAsync(long now, CancellationToken ct)
    {
        if (_sweepPending && _runtime.TickCount > 0)
        {
            _sweepPending = false;

            // The statuses of nodes created since the connect's full publish go out first (new nodes publish at once).
            await PublishStatusesAsync(_runtime.Status, all: false, ct).ConfigureAwait(false);
            string filter = _options.TopicPrefix + "/status/#";
            var sweep = new OrphanSweep(_options.TopicPrefix + "/status/", now + ToStamp(OrphanSweepWindow), _mqtt.State.Connects);
            _sweep = sweep;
            sweep.Route = _mqtt.Route(filter, EdgeQos.AtLeastOnce, sweep);
            Log.StatusOrphanSweepStarted(_logger, filter, OrphanSweepWindow.TotalMilliseconds);
            return;
        }

        if (_sweep is not OrphanSweep running || now < running.DueAt)
        {
            return;
        }

        if (!ReferenceEquals(Interlocked.CompareExchange(ref _sweep, null, running), running))
        {
            return; // abandoned by a stop meanwhile
        }

        running.Dispose();
        if (_runtime.ShutdownRequested || Phase is RuntimePhase.Stopping or RuntimePhase.Offline)
        {
            Log.StatusOrphanSweepAbandoned(_logger, "shutting down");
            return;
        }

        if (_mqtt.State.Connects != running.Connects || !_mqtt.State.IsConnected)
        {
            Log.StatusOrphanSweepAbandoned(_logger, "connection lost during the sweep");
            return;
        }

        RuntimeStatus status = _runtime.Status;
        var live = new HashSet<string>(status.Nodes.Count, StringComparer.Ordinal);
        foreach (NodeStatus node in status.Nodes)
        {
            live.Add(node.Path);
        }

        int cleared = 0;
        foreach (string path in running.Seen())
        {
            if (live.Contains(path))
            {
                continue;
            }

            try
            {
                await _mqtt.PublishAsync(_options.StatusTopic(path), ReadOnlyMemory<byte>.Empty, EdgeQos.AtLeastOnce, retain: true, ct)
                    .ConfigureAwait(false);
                cleared++;
                Log.StatusOrphanCleared(_logger, path);
            }
            catch (MqttPublishException ex)
            {
                // Disconnected meanwhile: the sweep after the next connect finds the rest.
                Log.MonitoringPublishFailed(_logger, _options.StatusTopic(path), ex.Message);
            }
        }

        Interlocked.Increment(ref _orphanSweeps);
        Log.StatusOrphansCleared(_logger, cleared);
    }

    /// <summary>One sweep's route and what it collected.</summary>
    private sealed class OrphanSweep(string topicPrefix, long dueAt, long connects) : IEdgeMessageHandler, IDisposable
    {
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        public long DueAt { get; } = dueAt;

        public long Connects { get; } = connects;

        public IMqttRoute? Route { get; set; }

        public void OnMessage(in EdgeMqttMessage message)
        {
            // Only what the broker held in its retained store; a live status (this runtime publishing) is not evidence.
            if (!message.Retained || message.Payload.IsEmpty || message.Topic.Length <= topicPrefix.Length
                || !message.Topic.StartsWith(topicPrefix, StringComparison.Ordinal))
            {
                return;
            }

            lock (_lock)
            {
                _seen.Add(message.Topic[topicPrefix.Length..]);
            }
        }

        public string[] Seen()
        {
            lock (_lock)
            {
                string[] paths = [.. _seen];
                Array.Sort(paths, StringComparer.Ordinal);
                return paths;
            }
        }

        public void Dispose() => Route?.Dispose();
    }
}
