using System.Buffers;
using System.Diagnostics;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Observability;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>
/// Publishes the runtime over MQTT (shared/spec/50-runtime-monitoring.md §6): the runtime state and heartbeat on
/// <c>{prefix}/runtime/state</c>, each node's status retained on <c>{prefix}/status/{node-path}</c>, and a metrics
/// snapshot on <c>{prefix}/metrics</c> every metrics interval.
/// </summary>
/// <remarks>
/// <para><b>Off the tick thread.</b> The publisher never touches the tick: it polls the runtime's published immutable
/// <see cref="RuntimeStatus"/> (one volatile read) every <see cref="MonitoringOptions.PollInterval"/> on a timer of the
/// injected <see cref="TimeProvider"/>, and reads metrics through its own <c>MeterListener</c>, whose measurement path
/// allocates nothing (see <c>MetricsAggregator</c>). All work runs in one pump at a time (timer callbacks and connection
/// changes only request it), so payload buffers are reused without locks.</para>
/// <para><b>Connection.</b> While the <c>mon</c> client is disconnected nothing is published or queued. After every
/// (re)connect the pump publishes the runtime state, then every node's status (retained), then resumes metrics, so a
/// broker that lost its retained store is repopulated (§6.7).</para>
/// <para><b>Status rules</b> (§6.3, §6.7): a node's status is published when its state, desired state, reason,
/// lifecycle, mode, frozenBy, breaker (state, attempt, label, causes, next trial), panic breaker, collector restarts or
/// death, restarts, last error, in-flight action, shutdown flag or child count changes (tick counters and ages ride
/// along), at most once per
/// <see cref="MonitoringOptions.StatusMinInterval"/> per node (newest wins), plus a full refresh every
/// <see cref="MonitoringOptions.StatusRefreshInterval"/>. A node that leaves the tree while the runtime is not shutting
/// down was removed from the declaration (or replaced): its topic gets a zero-length retained message. Nodes finalized
/// by the runtime's shutdown keep their last retained status.</para>
/// <para><b>Own topics.</b> After the full status publish of each connection an orphan sweep clears retained statuses
/// of nodes that are not in the tree (§6.7, see <see cref="OrphanSweepWindow"/>); a route on the own
/// <c>{prefix}/runtime/state</c> reports a second process running with the same runtime id (§12,
/// <see cref="RuntimeIdConflicts"/>).</para>
/// <para><b>Last will</b> (M-14): <see cref="CreateWill"/> builds the <c>offline</c> / <c>connection_lost</c> will the
/// <c>mon</c> client must register. <see cref="StopAsync(bool, CancellationToken)"/> publishes <c>offline</c> / <c>shutdown</c> itself; the host then
/// disposes the client, whose normal disconnect suppresses the will (the MQTT part of M-27).</para>
/// </remarks>
[DebuggerDisplay("MonitoringPublisher {_options.TopicPrefix}, phase = {Phase}")]
public sealed partial class MonitoringPublisher : IAsyncDisposable
{
    private readonly SupervisorRuntime _runtime;
    private readonly IEdgeMqtt _mqtt;
    private readonly MonitoringOptions _options;

    // The hot-reloadable cadences (SetIntervals), TimeSpan ticks; any thread writes, the pump reads.
    private long _metricsIntervalTicks;
    private long _heartbeatIntervalTicks;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MetricsAggregator _metrics;
    private readonly DateTimeOffset _startedAt;
    private readonly long _startedStamp;
    private readonly string _instance;
    private readonly string _runtimeStateTopic;
    private readonly string _metricsTopic;

    // Owner: the pump (one at a time, see RunPumpAsync). The reusable payload buffer.
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    /// <summary>The worker pack's meter (<c>Fsm2.Edge.Workers</c>, PackMetrics.MeterName), exported with the runtime's.</summary>
    internal const string WorkerPackMeterName = "Fsm2.Edge.Workers";

    private ITimer? _timer;
    private int _phase;
    private MonitoringConfigInfo? _config;
    private (string Source, string Version)? _global;

    // Pump scheduling: requests are counted; one pump runs at a time and loops while requests arrived meanwhile.
    private long _pumpRequests;
    private int _pumping;

    // Owner: the pump.
    private bool _republishAll = true;
    private long _nextHeartbeat;
    private long _nextMetrics;
    private long _nextRefresh;
    private long _heartbeatSeq;
    private long _metricsSeq;
    private int _stopped;

    /// <summary>Creates a publisher; <see cref="Start"/> begins publishing.</summary>
    /// <param name="runtime">The runtime whose status and metrics are published.</param>
    /// <param name="mqtt">The <c>mon</c> client (registered with <see cref="CreateWill"/>'s will).</param>
    /// <param name="options">The settings; validated here.</param>
    /// <param name="timeProvider">The clock of every interval and timestamp; the runtime's clock when null.</param>
    /// <param name="loggerFactory">The log sink (category <c>Fsm2.Edge.Mqtt</c>); none when null.</param>
    /// <exception cref="Connection.BrokerConfigException">An option is invalid.</exception>
    public MonitoringPublisher(
        SupervisorRuntime runtime,
        IEdgeMqtt mqtt,
        MonitoringOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(mqtt);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _runtime = runtime;
        _mqtt = mqtt;
        _options = options;
        _metricsIntervalTicks = options.MetricsInterval.Ticks;
        _heartbeatIntervalTicks = options.HeartbeatInterval.Ticks;
        _time = timeProvider ?? runtime.Time;
        _logger = loggerFactory?.CreateLogger("Fsm2.Edge.Mqtt") ?? NullLogger.Instance;
        _instance = options.InstanceId.ToString("N");
        _runtimeStateTopic = options.RuntimeStateTopic;
        _metricsTopic = options.MetricsTopic;
        _startedAt = _time.GetUtcNow();
        _startedStamp = _time.GetTimestamp();

        // Every instrument named by the runtime's meter, the MQTT layer's included (§8.1: one meter name, Fsm2.Edge).
        // The worker pack records on its own meter (it cannot add to the core's); its instruments are catalogue metrics too.
        // Meters of other runtimes in the same process (tests, tools) carry their own fsm2.runtime tag and are skipped.
        string runtimeTag = runtime.MeterRuntimeTag;
        _metrics = new MetricsAggregator(meter => meter.Name == WorkerPackMeterName
            || (meter.Name == MqttMetrics.MeterName && IsOwnOrShared(meter, runtimeTag)));
    }

    // A runtime's meter carries its fsm2.runtime tag; meters without the tag (MQTT layer, process) are shared.
    private static bool IsOwnOrShared(System.Diagnostics.Metrics.Meter meter, string runtimeTag)
    {
        if (meter.Tags is null)
        {
            return true;
        }

        foreach (KeyValuePair<string, object?> tag in meter.Tags)
        {
            if (tag.Key == "fsm2.runtime")
            {
                return tag.Value is string value && value == runtimeTag;
            }
        }

        return true;
    }

    /// <summary>The phase the runtime state topic reports.</summary>
    public RuntimePhase Phase => (RuntimePhase)Volatile.Read(ref _phase);

    /// <summary>Heartbeats (runtime state messages) published so far.</summary>
    public long HeartbeatSequence => Interlocked.Read(ref _heartbeatSeq);

    /// <summary>Metrics snapshots published so far; the <c>seq</c> of the latest.</summary>
    public long MetricsSequence => Interlocked.Read(ref _metricsSeq);

    /// <summary>The last will the <c>mon</c> client must register (M-14): on <c>{prefix}/runtime/state</c>, retained, QoS 1,
    /// <c>{"state":"offline","runtime":…,"instance":…,"reason":"connection_lost"}</c>.</summary>
    /// <param name="options">The monitoring settings (prefix, runtime id, instance id).</param>
    /// <returns>The will.</returns>
    public static EdgeWillMessage CreateWill(MonitoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var buffer = new ArrayBufferWriter<byte>(256);
        MonitoringJson.WriteOffline(buffer, options.RuntimeId, options.InstanceId.ToString("N"), "connection_lost", clean: null, ts: null);
        return new EdgeWillMessage(options.RuntimeStateTopic, buffer.WrittenMemory.ToArray(), EdgeQos.AtLeastOnce, Retain: true);
    }

    /// <summary>Starts publishing: <c>starting</c> at once when connected, then on every poll.</summary>
    public void Start()
    {
        if (_timer is not null)
        {
            return;
        }

        _mqtt.StateChanged += OnLinkStateChanged;
        WatchOwnRuntimeState();
        _timer = _time.CreateTimer(static s => ((MonitoringPublisher)s!).RequestPump(), this, TimeSpan.Zero, _options.PollInterval);
    }

    /// <summary>Reports <c>online</c> (startup step 7): publishes the runtime state at once.</summary>
    public void MarkOnline() => SetPhase(RuntimePhase.Online);

    /// <summary>Reports <c>stopping</c> (shutdown step 1): publishes the runtime state at once.</summary>
    public void MarkStopping() => SetPhase(RuntimePhase.Stopping);

    /// <summary>
    /// Applies the cadences a configuration reload may change (50-runtime-monitoring §3.2: <c>metrics_interval</c> and
    /// <c>heartbeat_interval</c> are hot). The snapshot and heartbeat already scheduled keep their time; the ones after
    /// follow the new intervals.
    /// </summary>
    /// <param name="metricsInterval">The metrics interval, at least 1 s.</param>
    /// <param name="heartbeatInterval">The heartbeat interval, at least 1 s.</param>
    /// <exception cref="Connection.BrokerConfigException">An interval is below 1 s (the message names the field).</exception>
    public void SetIntervals(TimeSpan metricsInterval, TimeSpan heartbeatInterval)
    {
        if (metricsInterval < TimeSpan.FromSeconds(1))
        {
            throw new Connection.BrokerConfigException("runtime.metrics_interval", $"must be at least 1s (was {metricsInterval})");
        }

        if (heartbeatInterval < TimeSpan.FromSeconds(1))
        {
            throw new Connection.BrokerConfigException("runtime.heartbeat_interval", $"must be at least 1s (was {heartbeatInterval})");
        }

        Interlocked.Exchange(ref _metricsIntervalTicks, metricsInterval.Ticks);
        Interlocked.Exchange(ref _heartbeatIntervalTicks, heartbeatInterval.Ticks);
    }

    private TimeSpan MetricsInterval => TimeSpan.FromTicks(Interlocked.Read(ref _metricsIntervalTicks));

    private TimeSpan HeartbeatInterval => TimeSpan.FromTicks(Interlocked.Read(ref _heartbeatIntervalTicks));

    /// <summary>Sets the heartbeat's <c>config</c> object (after each load or reload).</summary>
    /// <param name="config">The configuration facts.</param>
    public void SetConfigInfo(MonitoringConfigInfo config) => Volatile.Write(ref _config, config);

    /// <summary>Sets the heartbeat's <c>global</c> object (fleet mode).</summary>
    /// <param name="source"><c>file</c> or <c>mqtt</c>.</param>
    /// <param name="version">The fleet payload's version, as text.</param>
    public void SetGlobalInfo(string source, string version)
    {
        lock (_buffer)
        {
            _global = (source, version);
        }
    }

    /// <summary>
    /// Shutdown step 4: publishes every node's final status and a final metrics snapshot (skipped when disconnected),
    /// then <c>offline</c> / <c>shutdown</c> with <c>clean</c>; stops publishing. The host then disposes the <c>mon</c>
    /// client normally, which suppresses the will.
    /// </summary>
    /// <param name="clean">Whether the tree drained within its budget.</param>
    /// <param name="cancellationToken">Bounds the final publications.</param>
    /// <returns>A task that completes when the final messages were sent (or skipped).</returns>
    public Task StopAsync(bool clean, CancellationToken cancellationToken) => StopAsync(clean, forced: false, cancellationToken);

    /// <summary>
    /// Shutdown step 4, as <see cref="StopAsync(bool, CancellationToken)"/>; after a second signal forced the exit
    /// (50-runtime-monitoring §10) the offline marker says <c>reason: forced</c> instead of <c>shutdown</c>.
    /// </summary>
    /// <param name="clean">Whether the tree drained within its budget.</param>
    /// <param name="forced">Whether a second signal forced the exit.</param>
    /// <param name="cancellationToken">Bounds the final publications.</param>
    /// <returns>A task that completes when the final messages were sent (or skipped).</returns>
    public async Task StopAsync(bool clean, bool forced, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _mqtt.StateChanged -= OnLinkStateChanged;
        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        // Wait for a running pump to finish, then own the buffers.
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _pumping, 1, 0) != 0)
        {
            spin.SpinOnce();
        }

        Volatile.Write(ref _phase, (int)RuntimePhase.Offline);
        AbandonOrphanSweep();
        StopWatchingOwnRuntimeState();
        if (_mqtt.State.IsConnected)
        {
            try
            {
                await PublishStatusesAsync(_runtime.Status, all: true, cancellationToken).ConfigureAwait(false);
                await PublishMetricsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Out of time for the statuses and metrics (a loaded machine): the offline marker below still goes out.
            }
        }

        // The marker matters most (it replaces 'stopping' and keeps the will from being the last word): when the final
        // publications used up the caller's bound, it still gets its own 250 ms (50-runtime-monitoring §10 step 4).
        using var markerBound = new CancellationTokenSource(FinalMarkerBound, _time);
        CancellationToken markerToken = cancellationToken.IsCancellationRequested ? markerBound.Token : cancellationToken;
        _buffer.Clear();
        MonitoringJson.WriteOffline(_buffer, _options.RuntimeId, _instance, forced ? "forced" : "shutdown", clean, _time.GetUtcNow());
        await TryPublishAsync(_runtimeStateTopic, EdgeQos.AtLeastOnce, retain: true, markerToken).ConfigureAwait(false);
    }

    // How long the offline marker may still take after the caller's bound for the final publications has passed.
    private static readonly TimeSpan FinalMarkerBound = TimeSpan.FromMilliseconds(250);

    /// <summary>Stops publishing without the shutdown messages (use <see cref="StopAsync(bool, CancellationToken)"/> for those) and releases the
    /// metrics listener.</summary>
    /// <returns>A task that completes when the timer is stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _stopped, 1);
        _mqtt.StateChanged -= OnLinkStateChanged;
        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        AbandonOrphanSweep();
        StopWatchingOwnRuntimeState();
        _metrics.Dispose();
    }

    private void SetPhase(RuntimePhase phase)
    {
        Volatile.Write(ref _phase, (int)phase);
        Volatile.Write(ref _nextHeartbeat, long.MinValue);
        RequestPump();
    }

    private void OnLinkStateChanged(MqttLinkState state)
    {
        if (state.IsConnected)
        {
            Volatile.Write(ref _republishAll, true);
            RequestPump();
        }
        else
        {
            CheckTakeover(state);
        }
    }

    // Any thread. Starts the pump unless one is running, which then loops once more.
    private void RequestPump()
    {
        Interlocked.Increment(ref _pumpRequests);
        if (Volatile.Read(ref _stopped) == 0 && Interlocked.CompareExchange(ref _pumping, 1, 0) == 0)
        {
            _ = RunPumpAsync();
        }
    }

    private async Task RunPumpAsync()
    {
        while (true)
        {
            long seen = Interlocked.Read(ref _pumpRequests);
            try
            {
                await PumpOnceAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // A bug here must not stop monitoring for good; the next poll tries again.
                Log.MonitoringPumpFailed(_logger, ex.Message, ex);
            }

            Volatile.Write(ref _pumping, 0);
            if (Interlocked.Read(ref _pumpRequests) == seen || Volatile.Read(ref _stopped) != 0
                || Interlocked.CompareExchange(ref _pumping, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private async ValueTask PumpOnceAsync()
    {
        if (Volatile.Read(ref _stopped) != 0 || !_mqtt.State.IsConnected)
        {
            return;
        }

        CancellationToken ct = CancellationToken.None;
        long now = _time.GetTimestamp();
        RuntimeStatus status = _runtime.Status;
        if (Volatile.Read(ref _republishAll))
        {
            Volatile.Write(ref _republishAll, false);
            await PublishHeartbeatAsync(status, ct).ConfigureAwait(false);
            await PublishStatusesAsync(status, all: true, ct).ConfigureAwait(false);
            Log.MonitoringRepublished(_logger, status.Nodes.Count);
            RequestOrphanSweep();
            await RunOrphanSweepAsync(now, ct).ConfigureAwait(false);
            _nextRefresh = now + ToStamp(_options.StatusRefreshInterval);
            if (_nextMetrics == 0)
            {
                _nextMetrics = now + ToStamp(MetricsInterval);
            }

            return;
        }

        bool refresh = now >= _nextRefresh;
        if (refresh)
        {
            _nextRefresh = now + ToStamp(_options.StatusRefreshInterval);
        }

        await PublishStatusesAsync(status, all: refresh, ct).ConfigureAwait(false);
        if (now >= Volatile.Read(ref _nextHeartbeat))
        {
            await PublishHeartbeatAsync(status, ct).ConfigureAwait(false);
        }

        if (now >= _nextMetrics)
        {
            _nextMetrics = now + ToStamp(MetricsInterval);
            await PublishMetricsAsync(ct).ConfigureAwait(false);
        }

        await RunOrphanSweepAsync(now, ct).ConfigureAwait(false);
    }

    private async ValueTask PublishHeartbeatAsync(RuntimeStatus status, CancellationToken ct)
    {
        Volatile.Write(ref _nextHeartbeat, _time.GetTimestamp() + ToStamp(HeartbeatInterval));
        (string Source, string Version)? global;
        lock (_buffer)
        {
            global = _global;
        }

        _buffer.Clear();
        long seq = Interlocked.Read(ref _heartbeatSeq) + 1;
        var heartbeat = new MonitoringJson.Heartbeat(
            Phase, _options.RuntimeId, _instance, _options.Version, _options.Profile, _startedAt, _time.GetUtcNow(), seq,
            _time.GetElapsedTime(_startedStamp).TotalSeconds, Volatile.Read(ref _config), global, status, _runtime, _tickP99Us);
        MonitoringJson.WriteHeartbeat(_buffer, heartbeat);
        if (await TryPublishAsync(_runtimeStateTopic, EdgeQos.AtLeastOnce, retain: true, ct).ConfigureAwait(false))
        {
            Interlocked.Exchange(ref _heartbeatSeq, seq);
            Interlocked.Increment(ref _ownStatePublications);
        }
    }

    // Publishes the buffer's content; false (logged, counted by the client) when the client is down or refused it.
    private async ValueTask<bool> TryPublishAsync(string topic, EdgeQos qos, bool retain, CancellationToken ct)
    {
        try
        {
            await _mqtt.PublishAsync(topic, _buffer.WrittenMemory, qos, retain, ct).ConfigureAwait(false);
            return true;
        }
        catch (MqttPublishException ex)
        {
            Log.MonitoringPublishFailed(_logger, topic, ex.Message);
            return false;
        }
    }

    private long ToStamp(TimeSpan interval) => (long)(interval.TotalSeconds * _time.TimestampFrequency);
}
