using System.Net.Sockets;
using Fsm2.Edge.Config;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Probes;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using MqttBrokerEndpoint = Fsm2.Edge.Mqtt.Connection.BrokerEndpoint;

namespace Fsm2.Edge.Host;

/// <summary>
/// The host's MQTT side (50-runtime-monitoring §2.4 steps 2–3, §5, §10 steps 4–5): the embedded broker when
/// <c>runtime.broker</c> is <c>embedded</c>, the <c>&lt;id&gt;-mon</c> client with the monitoring publisher's last
/// will, and the <c>&lt;id&gt;-data</c> client for the worker pack.
/// </summary>
/// <remarks>
/// <para>Startup waits at most <see cref="ConnectWait"/> for both clients; an external broker that is unreachable by
/// then is not fatal: the clients keep reconnecting with the profile's supervision backoff, and the runtime works
/// offline meanwhile. Only an embedded broker that cannot bind fails the start (exit 1).</para>
/// <para>Shutdown order: the clients disconnect normally (which suppresses the will), then the embedded broker stops,
/// last.</para>
/// </remarks>
internal sealed class HostMqtt : IAsyncDisposable
{
    /// <summary>
    /// How long startup waits for <c>mon</c> and <c>data</c> to connect before going on offline: 2 s, far above a
    /// loopback or LAN connect and short enough that a gateway whose broker is down still starts promptly.
    /// </summary>
    public static readonly TimeSpan ConnectWait = TimeSpan.FromSeconds(2);

    private HostMqtt(EmbeddedBroker? broker, MqttBrokerEndpoint endpoint, MonitoringOptions monitoring, EdgeMqttClient mon, EdgeMqttClient data,
        MqttConnectionOptions connection)
    {
        Broker = broker;
        Endpoint = endpoint;
        Monitoring = monitoring;
        Mon = mon;
        Data = data;
        Connection = connection;
    }

    /// <summary>The embedded broker, or <see langword="null"/> with an external one.</summary>
    public EmbeddedBroker? Broker { get; }

    /// <summary>Where the clients connect.</summary>
    public MqttBrokerEndpoint Endpoint { get; }

    /// <summary>The monitoring settings (prefix, ids, intervals).</summary>
    public MonitoringOptions Monitoring { get; }

    /// <summary>The <c>mon</c> client: status, metrics, heartbeat, will, fleet Global subscription.</summary>
    public EdgeMqttClient Mon { get; }

    /// <summary>The <c>data</c> client: worker-pack subscriptions and publications.</summary>
    public EdgeMqttClient Data { get; }

    /// <summary>The connection settings every client of the runtime shares.</summary>
    public MqttConnectionOptions Connection { get; }

    /// <summary>Starts the embedded broker (if configured) and both clients; waits up to <see cref="ConnectWait"/> for them.</summary>
    /// <exception cref="SocketException">The embedded broker cannot bind its port.</exception>
    /// <exception cref="BrokerConfigException">A broker or MQTT setting is invalid.</exception>
    public static async Task<HostMqtt> StartAsync(EdgeConfig config, RuntimeOptions runtimeOptions, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        RuntimeSection rt = config.Runtime;
        HardwareProfile profile = config.Profile;
        EmbeddedBroker? broker = null;
        MqttBrokerEndpoint endpoint;
        if (rt.Broker.Embedded)
        {
            broker = new EmbeddedBroker(
                new EmbeddedBrokerOptions
                {
                    Bind = EmbeddedBrokerOptions.ParseBind(rt.EmbeddedBind),
                    Port = rt.EmbeddedPort,
                    MaxPendingMessagesPerClient = rt.EmbeddedMaxPendingMessagesPerClient ?? profile.Broker.MaxPendingMessagesPerClient,
                },
                time,
                loggers);
            try
            {
                await broker.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await broker.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            endpoint = broker.Endpoint;
        }
        else
        {
            endpoint = MqttBrokerEndpoint.External(rt.Broker.Host, rt.Broker.Port, useTls: rt.Broker.Scheme == "mqtts");
        }

        var connection = new MqttConnectionOptions
        {
            Endpoint = endpoint,
            Username = rt.MqttUsername,
            Password = MqttConnectionOptions.ReadPassword(rt.MqttPasswordEnv),
            KeepAlive = rt.MqttKeepalive,
            Protocol = MqttConnectionOptions.ParseProtocol(rt.MqttProtocol),
            TlsCaFile = endpoint.UseTls ? rt.MqttTlsCaFile : null,
            TlsInsecureSkipVerify = endpoint.UseTls && rt.MqttTlsInsecureSkipVerify,
        };
        var monitoring = new MonitoringOptions
        {
            RuntimeId = rt.Id,
            TopicPrefix = rt.TopicPrefix,
            Version = HostEnvironment.Version,
            Profile = profile.Name,
            HeartbeatInterval = rt.HeartbeatInterval ?? TimeSpan.FromMilliseconds(profile.Status.HeartbeatMs),
            MetricsInterval = runtimeOptions.MetricsInterval,
            StatusMinInterval = TimeSpan.FromMilliseconds(profile.Status.MinIntervalMs),
            StatusRefreshInterval = TimeSpan.FromMilliseconds(profile.Status.RefreshIntervalMs),
            NodeLabels = profile.Metrics.NodeLabels,
        };

        EdgeMqttClient mon = CreateClient(rt.Id + "-mon", "mon", connection, MonitoringPublisher.CreateWill(monitoring), profile, time, loggers);
        EdgeMqttClient data = CreateClient(rt.Id + "-data", "data", connection, will: null, profile, time, loggers);
        var mqtt = new HostMqtt(broker, endpoint, monitoring, mon, data, connection);
        mon.Start();
        data.Start();
        try
        {
            await Task.WhenAll(mon.WhenConnectedAsync(cancellationToken), data.WhenConnectedAsync(cancellationToken))
                .WaitAsync(ConnectWait, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // §2.4 step 3: not fatal; the clients keep reconnecting and the runtime starts offline.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A signal during startup: the caller shuts down what started.
        }

        return mqtt;
    }

    /// <summary>The defaults of the <c>mqtt</c> probe type: this runtime's ids, prefix, broker and connection settings.</summary>
    public MqttProbeDefaults ProbeDefaults(ILoggerFactory loggers) => new()
    {
        RuntimeId = Monitoring.RuntimeId,
        InstanceId = Monitoring.InstanceId,
        TopicPrefix = Monitoring.TopicPrefix,
        EmbeddedBroker = Broker,
        Username = Connection.Username,
        Password = Connection.Password,
        KeepAlive = Connection.KeepAlive,
        Protocol = Connection.Protocol,
        TlsCaFile = Connection.TlsCaFile,
        TlsInsecureSkipVerify = Connection.TlsInsecureSkipVerify,
        LoggerFactory = loggers,
    };

    /// <summary>Disconnects both clients normally (no will), then stops the embedded broker.</summary>
    public async ValueTask DisposeAsync()
    {
        await Mon.DisposeAsync().ConfigureAwait(false);
        await Data.DisposeAsync().ConfigureAwait(false);
        if (Broker is not null)
        {
            // Stopping the broker before it has processed the DISCONNECTs would publish mon's will over the clean
            // offline/shutdown state (seen under load): wait, bounded, for both sessions to end.
            await Broker.WaitForClientsGoneAsync([Mon.ClientId, Data.ClientId], TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            await Broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static EdgeMqttClient CreateClient(string clientId, string name, MqttConnectionOptions connection, EdgeWillMessage? will,
        HardwareProfile profile, TimeProvider time, ILoggerFactory loggers) => new(
        new EdgeMqttClientOptions
        {
            ClientId = clientId,
            Name = name,
            Connection = connection,
            Will = will,
            ReconnectBase = TimeSpan.FromMilliseconds(profile.Supervision.BackoffBaseMs),
            ReconnectMax = TimeSpan.FromMilliseconds(profile.Supervision.BackoffMaxMs),
            ReconnectJitter = profile.Supervision.Jitter,
        },
        time,
        loggers);
}
