using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Server;

namespace Fsm2.Edge.Mqtt.Broker;

/// <summary>
/// The embedded broker (<c>broker: embedded</c>, shared/spec/50-runtime-monitoring.md §5.1): an MQTTnet 5 server in
/// the runtime process, the zero-setup default. No authentication; retained messages in memory only.
/// </summary>
/// <remarks>
/// <para><b>Port.</b> MQTTnet does not report the port it bound, so for port 0 the broker reserves a free one first
/// (bind a listener to port 0, read it, release it) and retries with a fresh port if another process took it in
/// between. The port chosen at the first start is kept: <see cref="StopAsync"/> then <see cref="StartAsync"/> comes
/// back on the same port, which is what clients reconnecting after an outage expect.</para>
/// <para><b>Queues.</b> The per-subscriber queue limit is raised from MQTTnet's 250 to
/// <see cref="EmbeddedBrokerOptions.MaxPendingMessagesPerClient"/>. An overflow that still happens drops the oldest
/// message; MQTTnet reports it only through <c>QueuedApplicationMessageOverwrittenAsync</c>, which this class counts
/// (<see cref="MessagesOverwritten"/>, <c>fsm2_broker_messages_overwritten_total</c>) and logs as
/// <c>broker_queue_overwrite</c>, at most once per <see cref="OverwriteLogInterval"/> with the count since the last line.</para>
/// <para><b>Threads.</b> Start and stop are serialised by one gate and may be called from any thread. The overwrite
/// callback runs on MQTTnet's threads.</para>
/// </remarks>
[DebuggerDisplay("EmbeddedBroker {_options.Bind}:{Port}, running = {IsRunning}")]
public sealed class EmbeddedBroker : IAsyncDisposable
{
    /// <summary>Rate limit of <c>broker_queue_overwrite</c>: 10 s, the spec's suppression report period (§9.1).</summary>
    public static readonly TimeSpan OverwriteLogInterval = TimeSpan.FromSeconds(10);

    // Arbitrary: fresh ports tried when a reserved port is taken between reservation and bind; one race in a row is
    // already unlikely on a gateway.
    private const int PortAttempts = 3;

    private readonly EmbeddedBrokerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MqttMetrics _metrics;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _overwriteLock = new();

    // Owner: StartAsync/StopAsync under _gate. Read by IsRunning and Server from any thread.
    private MqttServer? _server;

    // 0 until the first start when the configured port is 0; then fixed. Written under _gate.
    private int _port;
    private long _overwritten;
    private bool _disposed;

    // Guarded by _overwriteLock: the stamp of the last broker_queue_overwrite line and the overwrites since then.
    private long _lastOverwriteLog;
    private long _overwritesSinceLog;
    private bool _overwriteLogged;

    /// <summary>Creates a stopped broker.</summary>
    /// <param name="options">The settings; defaults when null. Validated here.</param>
    /// <param name="timeProvider">The clock of the overwrite log's rate limit; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">The log sink (category <c>Fsm2.Edge.Mqtt</c>); none when null.</param>
    /// <param name="meterFactory">The meter source; a private <c>Fsm2.Edge</c> meter when null.</param>
    /// <exception cref="BrokerConfigException">The options are out of range.</exception>
    public EmbeddedBroker(
        EmbeddedBrokerOptions? options = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null)
    {
        _options = options ?? new EmbeddedBrokerOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = loggerFactory?.CreateLogger("Fsm2.Edge.Mqtt") ?? NullLogger.Instance;
        _metrics = new MqttMetrics(meterFactory);
        _port = _options.Port;
    }

    /// <summary>The bound port; 0 before the first start when the configured port is 0.</summary>
    public int Port => Volatile.Read(ref _port);

    /// <summary>Whether the broker accepts connections.</summary>
    public bool IsRunning => Volatile.Read(ref _server)?.IsStarted == true;

    /// <summary>
    /// The endpoint local clients use: <c>mqtt://bind:port</c>, with a wildcard bind (0.0.0.0, ::) replaced by the
    /// matching loopback address.
    /// </summary>
    /// <exception cref="InvalidOperationException">The configured port is 0 and the broker has not started yet, so no
    /// port is known.</exception>
    public BrokerEndpoint Endpoint => Port == 0
        ? throw new InvalidOperationException("The embedded broker picks its port at the first start; start it before asking for its endpoint.")
        : BrokerEndpoint.External(ClientAddress(_options.Bind).ToString(), Port);

    /// <summary>Messages dropped from full subscriber queues since this broker was created.</summary>
    public long MessagesOverwritten => Interlocked.Read(ref _overwritten);

    /// <summary>The options the broker runs with.</summary>
    public EmbeddedBrokerOptions Options => _options;

    // For tests: the instruments this broker records into.
    internal MqttMetrics Metrics => _metrics;

    // For tests that need the server's interception points (for example to refuse a subscription).
    internal MqttServer? Server => Volatile.Read(ref _server);

    /// <summary>Starts the broker; returns once it listens. Does nothing when it already runs.</summary>
    /// <param name="cancellationToken">Cancels waiting for the start gate.</param>
    /// <returns>A task that completes when the broker listens.</returns>
    /// <exception cref="SocketException">The port cannot be bound (for a configured port: in use or not permitted).</exception>
    /// <exception cref="ObjectDisposedException">The broker was disposed.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_server is not null)
            {
                return;
            }

            bool choosePort = _port == 0;
            for (int attempt = 1; ; attempt++)
            {
                int port = choosePort ? ReserveFreePort(_options.Bind) : _port;
                MqttServer server = CreateServer(port);
                try
                {
                    await server.StartAsync().ConfigureAwait(false);
                }
                catch (SocketException ex) when (choosePort && attempt < PortAttempts && ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                    server.Dispose();
                    Log.BrokerPortRetry(_logger, port);
                    continue;
                }
                catch
                {
                    server.Dispose();
                    throw;
                }

                Volatile.Write(ref _port, port);
                Volatile.Write(ref _server, server);
                break;
            }

            if (!IPAddress.IsLoopback(_options.Bind))
            {
                Log.EmbeddedBrokerExposed(_logger, _options.Bind.ToString());
            }

            Log.BrokerStarted(_logger, Endpoint.ToString(), _options.MaxPendingMessagesPerClient);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the broker: every client connection is closed. Does nothing when it is not running.
    /// <see cref="StartAsync"/> may start it again on the same port.</summary>
    /// <returns>A task that completes when the broker no longer listens.</returns>
    public async Task StopAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            MqttServer? server = _server;
            if (server is null)
            {
                return;
            }

            Volatile.Write(ref _server, null);
            try
            {
                await server.StopAsync().ConfigureAwait(false);
            }
            finally
            {
                server.Dispose();
            }

            Log.BrokerStopped(_logger, Endpoint.ToString(), MessagesOverwritten);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Waits until the broker has ended the sessions of <paramref name="clientIds"/>, at most <paramref name="timeout"/>.
    /// A host calls it between its clients' normal disconnects and <see cref="StopAsync"/>: a DISCONNECT the server has
    /// not processed yet when it stops becomes a lost connection, which publishes the client's last will (a clean
    /// shutdown would end with a retained <c>connection_lost</c>).
    /// </summary>
    /// <param name="clientIds">The client ids to wait for; ids the broker does not know count as gone.</param>
    /// <param name="timeout">The bound of the wait; nothing is thrown when it passes.</param>
    /// <returns>A task that completes when every session has ended, or when the timeout has passed.</returns>
    public async Task WaitForClientsGoneAsync(IReadOnlyCollection<string> clientIds, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(clientIds);
        MqttServer? server = Server;
        if (server is null || clientIds.Count == 0)
        {
            return;
        }

        var pending = new HashSet<string>(clientIds, StringComparer.Ordinal);
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task OnDisconnected(ClientDisconnectedEventArgs e)
        {
            lock (pending)
            {
                if (pending.Remove(e.ClientId) && pending.Count == 0)
                {
                    gone.TrySetResult();
                }
            }

            return Task.CompletedTask;
        }

        server.ClientDisconnectedAsync += OnDisconnected;
        try
        {
            // Subscribed first, then listed: a session that ended in between is no longer listed.
            IList<MqttClientStatus> connected = await server.GetClientsAsync().ConfigureAwait(false);
            lock (pending)
            {
                pending.IntersectWith(connected.Select(c => c.Id));
                if (pending.Count == 0)
                {
                    return;
                }
            }

            await gone.Task.WaitAsync(timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Bounded: the caller stops the broker anyway.
        }
        finally
        {
            server.ClientDisconnectedAsync -= OnDisconnected;
        }
    }

    /// <summary>Stops the broker and releases its meter.</summary>
    /// <returns>A task that completes when the broker is stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        _disposed = true;
        _metrics.Dispose();
        _gate.Dispose();
    }

    private MqttServer CreateServer(int port)
    {
        MqttServerOptionsBuilder builder = new MqttServerFactory().CreateServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointPort(port)
            .WithDefaultEndpointReuseAddress()
            .WithMaxPendingMessagesPerClient(_options.MaxPendingMessagesPerClient)
            .WithPendingMessagesOverflowStrategy(MqttPendingMessagesOverflowStrategy.DropOldestQueuedMessage);

        // MQTTnet listens on IPv4 and IPv6 wildcards by default; the configured bind must be the only listener, or a
        // loopback-only broker would be reachable from the network. IPAddress.None disables a family's listener.
        if (_options.Bind.AddressFamily == AddressFamily.InterNetworkV6)
        {
            builder = builder.WithDefaultEndpointBoundIPAddress(IPAddress.None).WithDefaultEndpointBoundIPV6Address(_options.Bind);
        }
        else
        {
            builder = builder.WithDefaultEndpointBoundIPAddress(_options.Bind).WithDefaultEndpointBoundIPV6Address(IPAddress.None);
        }

        MqttServer server = new MqttServerFactory().CreateMqttServer(builder.Build());
        server.QueuedApplicationMessageOverwrittenAsync += OnQueueOverwrittenAsync;
        return server;
    }

    private Task OnQueueOverwrittenAsync(QueueMessageOverwrittenEventArgs e)
    {
        Interlocked.Increment(ref _overwritten);
        _metrics.BrokerMessagesOverwritten.Add(1);
        long now = _time.GetTimestamp();
        long count = 0;
        lock (_overwriteLock)
        {
            _overwritesSinceLog++;
            if (!_overwriteLogged || _time.GetElapsedTime(_lastOverwriteLog, now) >= OverwriteLogInterval)
            {
                count = _overwritesSinceLog;
                _overwritesSinceLog = 0;
                _lastOverwriteLog = now;
                _overwriteLogged = true;
            }
        }

        // Logged outside the lock, so a slow sink never holds up other sessions' overwrite callbacks.
        if (count > 0)
        {
            Log.BrokerQueueOverwrite(_logger, e.ReceiverClientId, count);
        }

        return Task.CompletedTask;
    }

    private static int ReserveFreePort(IPAddress bind)
    {
        var listener = new TcpListener(bind, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static IPAddress ClientAddress(IPAddress bind) =>
        bind.Equals(IPAddress.Any) ? IPAddress.Loopback
        : bind.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
        : bind;
}
