using System.Diagnostics;
using System.Diagnostics.Metrics;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;

namespace Fsm2.Edge.Mqtt.Client;

/// <summary>
/// The production <see cref="IEdgeMqtt"/>: one MQTTnet 5 client with its own reconnect loop (MQTTnet 5 has no managed
/// client), routes restored after every reconnect, and an optional last will.
/// </summary>
/// <remarks>
/// <para><b>Connection loop</b> (<see cref="Start"/>). The first attempt is immediate. After a failed attempt the loop
/// waits <see cref="EdgeMqttClientOptions.ReconnectBase"/>, doubling up to <see cref="EdgeMqttClientOptions.ReconnectMax"/>
/// with ±<see cref="EdgeMqttClientOptions.ReconnectJitter"/>; a successful connect resets the delay. After a lost
/// connection the first reconnect also waits the base delay, so a flapping link, or two runtimes fighting over one
/// client id (§12), never reconnect faster than that. Every wait and every connect deadline is on the injected
/// <see cref="TimeProvider"/>; MQTTnet's own request timeout (a real clock) is only a backstop.</para>
/// <para><b>Clean start.</b> Each connect starts a clean session, so after a reconnect the loop subscribes every route's
/// filter again (at the highest QoS its routes ask for) before it raises <see cref="StateChanged"/>; the broker then
/// sends the retained messages again, which is how a route sees the current retained value after an outage.</para>
/// <para><b>Will.</b> <see cref="EdgeMqttClientOptions.Will"/> goes with every CONNECT. <see cref="DisposeAsync"/>
/// disconnects normally, which tells the broker to discard the will.</para>
/// <para><b>Threads.</b> The loop runs on the thread pool; MQTTnet's receive thread dispatches messages through the
/// route table without locks. <see cref="StateChanged"/> is raised on the loop or on MQTTnet's thread.</para>
/// </remarks>
[DebuggerDisplay("EdgeMqttClient {ClientId}, connected = {IsConnected}")]
public sealed partial class EdgeMqttClient : IEdgeMqtt, IAsyncDisposable
{
    private readonly EdgeMqttClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MqttMetrics _metrics;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _clientOptions;
    private readonly RouteTable _routes;
    private readonly string _endpointText;
    private readonly KeyValuePair<string, object?> _clientTag;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _stateLock = new();

    // Guarded by _stateLock; read through State.
    private MqttLinkState _state;

    // Completed when the current connection is lost; replaced at every connect. Owner: the loop (replace), MQTTnet's
    // DisconnectedAsync (complete).
    private TaskCompletionSource _lost = Completed();

    // Completed when MQTTnet has finished tearing down the previous connection: MQTTnet refuses a new connect until then
    // ("connect/disconnect pending"), the same wait the round-trip probe makes.
    private TaskCompletionSource _connectionClosed = Completed();

    // Completed while connected; replaced by a pending one when the connection drops.
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Task _loop = Task.CompletedTask;
    private long _connectAttempts;
    private long _pendingDelayTicks = -1;
    private int _started;
    private int _disposed;

    /// <summary>Creates a stopped client; <see cref="Start"/> begins connecting.</summary>
    /// <param name="options">The client settings; validated here.</param>
    /// <param name="timeProvider">The clock of the backoff and the deadlines; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">The log sink (category <c>Fsm2.Edge.Mqtt</c>); none when null.</param>
    /// <param name="meterFactory">The meter source; a private <c>Fsm2.Edge</c> meter when null.</param>
    /// <exception cref="BrokerConfigException">An option is invalid.</exception>
    public EdgeMqttClient(
        EdgeMqttClientOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = loggerFactory?.CreateLogger("Fsm2.Edge.Mqtt") ?? NullLogger.Instance;
        _metrics = new MqttMetrics(meterFactory);
        _clientTag = new KeyValuePair<string, object?>("client", options.Name);
        _metrics.AttachConnectionSource(options.Name, () => IsConnected);
        _routes = new RouteTable(_logger, options.Name);
        _endpointText = options.Connection.Endpoint.ToString();
        _state = MqttLinkState.Initial(_time.GetUtcNow());

        // 3 × the connect timeout: MQTTnet's real-clock request timeout must never fire before our own deadlines.
        _clientOptions = MqttClientOptionsFactory.Build(options.Connection, options.ClientId, 3 * options.ConnectTimeout);
        if (options.Will is EdgeWillMessage will)
        {
            _clientOptions.WillTopic = will.Topic;
            _clientOptions.WillPayload = will.Payload.ToArray();
            _clientOptions.WillQualityOfServiceLevel = (MQTTnet.Protocol.MqttQualityOfServiceLevel)will.Qos;
            _clientOptions.WillRetain = will.Retain;
        }

        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        _client.DisconnectedAsync += OnDisconnectedAsync;
    }

    /// <inheritdoc/>
    public event Action<MqttLinkState>? StateChanged;

    /// <summary>The MQTT client id.</summary>
    public string ClientId => _options.ClientId;

    /// <summary>The short name used in logs and metrics (<c>mon</c>, <c>data</c>).</summary>
    public string Name => _options.Name;

    /// <summary>Whether MQTTnet reports the connection up right now.</summary>
    public bool IsConnected => _client.IsConnected;

    /// <inheritdoc/>
    public MqttLinkState State
    {
        get
        {
            lock (_stateLock)
            {
                return _state;
            }
        }
    }

    /// <summary>Connect attempts made so far.</summary>
    public long ConnectAttempts => Interlocked.Read(ref _connectAttempts);

    // For tests: the delay the loop is waiting on right now (set once the delay's timer exists), or null.
    internal TimeSpan? PendingReconnectDelay
    {
        get
        {
            long ticks = Interlocked.Read(ref _pendingDelayTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    // For tests: the instruments of this client.
    internal MqttMetrics Metrics => _metrics;

    /// <summary>Starts the connection loop. Calling it again does nothing.</summary>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _loop = Task.Run(() => RunAsync(_stop.Token));
        }
    }

    /// <summary>Completes when the client is connected (at once if it is).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes on the next connected state.</returns>
    public Task WhenConnectedAsync(CancellationToken cancellationToken = default)
        => Volatile.Read(ref _connected).Task.WaitAsync(cancellationToken);

    /// <inheritdoc/>
    public IMqttRoute Route(string filter, EdgeQos qos, IEdgeMessageHandler handler)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        RouteTable.Route route = _routes.Add(filter, qos, handler, OnRouteDisposed);

        // A route added while the loop resubscribes may be subscribed twice; a repeated SUBSCRIBE is harmless (it
        // replaces the subscription and re-sends retained messages).
        if (_client.IsConnected)
        {
            _ = SubscribeAsync(filter, _routes.QosOf(filter), _stop.Token);
        }

        return route;
    }

    /// <inheritdoc/>
    public async ValueTask PublishAsync(string topic, ReadOnlyMemory<byte> payload, EdgeQos qos, bool retain, CancellationToken ct)
    {
        if (!MqttTopics.IsValidTopic(topic))
        {
            throw new ArgumentException($"'{topic}' is not a valid MQTT topic name", nameof(topic));
        }

        if (!_client.IsConnected)
        {
            _metrics.MqttPublishFailures.Add(1, _clientTag);
            throw new MqttPublishException($"client {Name} is not connected; '{topic}' not published (nothing is queued while disconnected)");
        }

        var message = new MqttApplicationMessage
        {
            Topic = topic,
            Payload = new System.Buffers.ReadOnlySequence<byte>(payload),
            QualityOfServiceLevel = (MQTTnet.Protocol.MqttQualityOfServiceLevel)qos,
            Retain = retain,
        };
        MqttClientPublishResult result;
        try
        {
            result = await _client.PublishAsync(message, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException
            or ObjectDisposedException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            _metrics.MqttPublishFailures.Add(1, _clientTag);
            throw new MqttPublishException($"client {Name}: '{topic}' not published: {ex.GetBaseException().Message}", ex);
        }

        if (result.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
        {
            _metrics.MqttPublishFailures.Add(1, _clientTag);
            throw new MqttPublishException($"client {Name}: the broker refused '{topic}': {result.ReasonCode}");
        }
    }

    /// <summary>Stops the loop, disconnects normally (so the broker discards the will) and releases the client.</summary>
    /// <returns>A task that completes when the client is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The loop ends by cancellation.
        }

        if (_client.IsConnected)
        {
            using var deadline = new CancellationTokenSource(_options.ConnectTimeout, _time);
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptions { Reason = MqttClientDisconnectOptionsReason.NormalDisconnection }, deadline.Token)
                    .ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException)
            {
                // The broker is gone or slow: the client is released below either way (and the will may fire).
            }
        }

        _client.ApplicationMessageReceivedAsync -= OnMessageReceivedAsync;
        _client.DisconnectedAsync -= OnDisconnectedAsync;
        _client.Dispose();
        _metrics.Dispose();
        _stop.Dispose();
    }

    private static TaskCompletionSource Completed()
    {
        var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        completed.SetResult();
        return completed;
    }
}
