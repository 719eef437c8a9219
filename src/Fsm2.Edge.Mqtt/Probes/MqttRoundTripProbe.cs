using System.Diagnostics;
using System.Diagnostics.Metrics;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;

namespace Fsm2.Edge.Mqtt.Probes;

/// <summary>
/// The MQTT round-trip probe (shared/spec/30-supervision.md §10.2): each run publishes a numbered message to
/// <c>{prefix}/_health/{id}/{seq}</c> through the broker and waits for it to come back on the probe's own subscription.
/// </summary>
/// <remarks>
/// <para><b>Client.</b> A dedicated MQTTnet 5 client, clean start, client id <c>{runtime}-probe-{id}</c>. After every
/// (re)connect it subscribes at QoS 1 to <c>{prefix}/_health/{id}/+</c>.</para>
/// <para><b>A run</b> (<see cref="RunAsync"/>):</para>
/// <list type="number">
/// <item>Not connected: exactly one connect attempt, bounded by 2 × <see cref="Timeout"/>. Failure →
/// <see cref="ProbeOutcome.Disconnected"/>; a broker that answers the CONNECT with "not authorised", "bad user name or
/// password" or "banned" → <see cref="ProbeOutcome.Refused"/>. The probe never reconnects in the background, so
/// reconnects follow the scheduler's interval: that is the probe's backoff.</item>
/// <item>Not subscribed (after a connect, or after a refused subscription): subscribe; a rejected filter →
/// <see cref="ProbeOutcome.Refused"/>.</item>
/// <item><c>seq</c> + 1; publish QoS 1, not retained, payload = instance id (16 bytes) + <c>seq</c> (8 bytes, big-endian),
/// MQTT 5 message expiry 10 s. A publish the broker rejects with a reason code → <see cref="ProbeOutcome.Refused"/>.</item>
/// <item>The echo on exactly that topic with exactly that payload, within <see cref="Timeout"/> of the start of the
/// publish → <see cref="ProbeOutcome.Success"/>, with the round trip in <see cref="LastRoundTrip"/> and
/// <c>fsm2_probe_rtt_seconds</c>. Otherwise <see cref="ProbeOutcome.Miss"/> (also when the publish failed or its
/// acknowledgement did not come in time), or <see cref="ProbeOutcome.Disconnected"/> when the failure was the connection
/// dropping.</item>
/// </list>
/// <para>An echo that does not complete the current run (an older <c>seq</c>, another instance id, a payload that does not
/// match its topic) is ignored and counted in <see cref="LateEchoes"/>.</para>
/// <para><b>Time.</b> Every deadline is a <see cref="CancellationTokenSource"/> on the injected <see cref="TimeProvider"/>.
/// MQTTnet's own request timeout (a real clock) is set to 3 × <see cref="Interval"/>, a backstop only.</para>
/// <para><b>Threads.</b> The scheduler never overlaps runs, so run state has one writer. The receive callback runs on
/// MQTTnet's thread and touches only the published pending-echo object and the counters.</para>
/// </remarks>
[DebuggerDisplay("MqttRoundTripProbe {Id}, seq = {Sequence}, connected = {IsConnected}")]
public sealed partial class MqttRoundTripProbe : IInfrastructureProbe, IAsyncDisposable
{
    /// <summary>The message expiry of a probe message (10 s, shared/spec/30-supervision.md §10.2): a message stuck in a
    /// broker queue must not be delivered long after its run.</summary>
    public const uint MessageExpirySeconds = 10;

    /// <summary>Bytes of the payload: instance id (16) + <c>seq</c> (8).</summary>
    public const int PayloadLength = 24;

    private readonly MqttRoundTripProbeOptions _options;
    private readonly MqttConnectionOptions _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MqttMetrics _metrics;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _clientOptions;
    private readonly byte[] _instance = new byte[16];
    private readonly string _topicBase;
    private readonly string _endpointText;
    private readonly KeyValuePair<string, object?> _probeTag;
    private readonly bool _recordRunMetrics;

    // Owner: the run (one at a time). Read by the status properties with Volatile/Interlocked.
    private long _sequence;
    private bool _subscribed;
    private long _connectAttempts;
    private long _lastRoundTripTicks = -1;
    private int _lastOutcome = -1;

    // Written by the receive callback (MQTTnet thread); read by the status property.
    private long _lateEchoes;

    // Completed when MQTTnet has finished tearing down the current connection (its DisconnectedAsync event); replaced at
    // every successful connect. MQTTnet reports IsConnected = false as soon as a loss is noticed but refuses a new
    // connect until that teardown is over, so a run waits for it (within its connect deadline) instead of failing fast.
    private TaskCompletionSource _connectionClosed = CompletedClosed();

    // The run publishes the echo it waits for here; the receive callback completes it. Null between runs.
    private PendingEcho? _pending;
    private int _disposed;

    /// <summary>Creates a probe; it connects at its first run.</summary>
    /// <param name="options">The probe settings; validated here.</param>
    /// <param name="connection">The runtime's broker connection settings; validated here.</param>
    /// <param name="timeProvider">The clock of every deadline and the RTT; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">The log sink (category <c>Fsm2.Edge.Mqtt</c>); none when null.</param>
    /// <param name="meterFactory">The meter source; a private <c>Fsm2.Edge</c> meter when null.</param>
    /// <exception cref="BrokerConfigException">An option is invalid.</exception>
    public MqttRoundTripProbe(
        MqttRoundTripProbeOptions options,
        MqttConnectionOptions connection,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null)
        : this(options, connection, timeProvider, loggerFactory, meterFactory, recordRunMetrics: true)
    {
    }

    /// <summary>Creates a probe; <paramref name="recordRunMetrics"/> is false under the runtime's probe scheduler, which
    /// records <c>fsm2_probe_results_total</c> and <c>fsm2_probe_rtt_seconds</c> itself.</summary>
    internal MqttRoundTripProbe(
        MqttRoundTripProbeOptions options,
        MqttConnectionOptions connection,
        TimeProvider? timeProvider,
        ILoggerFactory? loggerFactory,
        IMeterFactory? meterFactory,
        bool recordRunMetrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(connection);
        options.Validate();
        connection.Validate();
        _options = options;
        _connection = connection;
        _time = timeProvider ?? TimeProvider.System;
        _logger = loggerFactory?.CreateLogger("Fsm2.Edge.Mqtt") ?? NullLogger.Instance;
        _metrics = new MqttMetrics(meterFactory);
        _recordRunMetrics = recordRunMetrics;
        _probeTag = new KeyValuePair<string, object?>("probe", options.Id);
        _ = options.InstanceId.TryWriteBytes(_instance, bigEndian: true, out _);
        _topicBase = $"{options.TopicPrefix}/_health/{options.Id}/";
        _endpointText = connection.Endpoint.ToString();
        ClientId = $"{options.RuntimeId}-probe-{options.Id}";
        SubscriptionFilter = _topicBase + "+";

        // 3 × Interval: a run cannot usefully outlast the verdict's staleness horizon (30-supervision §10.1).
        _clientOptions = MqttClientOptionsFactory.Build(connection, ClientId, 3 * options.Interval);
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        _client.DisconnectedAsync += OnDisconnectedAsync;
    }

    /// <inheritdoc/>
    public string Id => _options.Id;

    /// <inheritdoc/>
    public string ManualSteps => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"check {_endpointText}; mosquitto_sub -h {_connection.Endpoint.Host} -p {_connection.Endpoint.Port} -t '{_options.TopicPrefix}/_health/#' -v");

    /// <inheritdoc/>
    public TimeSpan Interval => _options.Interval;

    /// <inheritdoc/>
    public TimeSpan Timeout => _options.Timeout;

    /// <inheritdoc/>
    /// <remarks>One connect attempt of at most 2 × <see cref="Timeout"/> (§10.2), then one round trip of at most
    /// <see cref="Timeout"/>.</remarks>
    public TimeSpan RunBudget => 3 * _options.Timeout;

    /// <inheritdoc/>
    public int MissThreshold => _options.MissThreshold;

    /// <summary>The MQTT client id: <c>{runtime}-probe-{id}</c>.</summary>
    public string ClientId { get; }

    /// <summary>The probe's subscription: <c>{prefix}/_health/{id}/+</c>.</summary>
    public string SubscriptionFilter { get; }

    /// <summary>The topic of run <paramref name="seq"/>: <c>{prefix}/_health/{id}/{seq}</c>.</summary>
    /// <param name="seq">The run's sequence number.</param>
    /// <returns>The topic.</returns>
    public string TopicFor(long seq) => string.Concat(_topicBase, seq.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Whether the probe's client is connected right now (it drops to <see langword="false"/> as soon as MQTTnet
    /// notices the loss).</summary>
    public bool IsConnected => _client.IsConnected;

    /// <summary>The <c>seq</c> of the latest run's publish; 0 before the first publish.</summary>
    public long Sequence => Interlocked.Read(ref _sequence);

    /// <summary>The latest successful round trip (publish start to echo), or <see langword="null"/> before the first
    /// success. For status: it is kept across failed runs, so read it together with <see cref="LastOutcome"/>.</summary>
    public TimeSpan? LastRoundTrip
    {
        get
        {
            long ticks = Interlocked.Read(ref _lastRoundTripTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    /// <summary>The outcome of the latest run, or <see langword="null"/> before the first.</summary>
    public ProbeOutcome? LastOutcome
    {
        get
        {
            int value = Volatile.Read(ref _lastOutcome);
            return value < 0 ? null : (ProbeOutcome)value;
        }
    }

    /// <summary>Echoes received that did not complete the current run: an older <c>seq</c> (a late echo), another instance
    /// id, or a payload that does not match its topic.</summary>
    public long LateEchoes => Interlocked.Read(ref _lateEchoes);

    /// <summary>Connect attempts made, at most one per run.</summary>
    public long ConnectAttempts => Interlocked.Read(ref _connectAttempts);

    // For tests: the instruments this probe records into.
    internal MqttMetrics Metrics => _metrics;

    /// <summary>Disconnects (bounded by 2 × <see cref="Timeout"/>) and releases the client. A run after disposal reports
    /// <see cref="ProbeOutcome.Disconnected"/>.</summary>
    /// <returns>A task that completes when the client is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_client.IsConnected)
        {
            using var deadline = new CancellationTokenSource(2 * Timeout, _time);
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException)
            {
                // The broker is gone or slow; the client is released below either way.
            }
        }

        _client.ApplicationMessageReceivedAsync -= OnMessageReceivedAsync;
        _client.DisconnectedAsync -= OnDisconnectedAsync;
        _client.Dispose();
        _metrics.Dispose();
    }

    private static TaskCompletionSource CompletedClosed()
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        closed.SetResult();
        return closed;
    }

    /// <summary>The echo one run waits for; completed by the receive callback with the receive stamp.</summary>
    private sealed class PendingEcho
    {
        public PendingEcho(long seq, string topic)
        {
            Seq = seq;
            Topic = topic;
        }

        public long Seq { get; }

        public string Topic { get; }

        // Continuations run asynchronously, so the run never continues on MQTTnet's receive thread.
        public TaskCompletionSource<long> Received { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
