using System.Net;
using System.Net.Sockets;
using System.Text;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Tests.TestSupport;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Protocol;

namespace Fsm2.Edge.Mqtt.Tests.Broker;

public sealed class EmbeddedBrokerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StartAsync_PortZero_BindsAFreePort_LogsIt_AndAcceptsClients()
    {
        // arrange
        var logs = new FakeLogCollector();
        using ILoggerFactory loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 }, loggerFactory: loggerFactory);
        Assert.Throws<InvalidOperationException>(() => broker.Endpoint);

        // act
        await broker.StartAsync(Ct);
        using IMqttClient client = await ConnectAsync(broker.Endpoint);

        // assert
        Assert.True(broker.IsRunning);
        Assert.InRange(broker.Port, 1, 65535);
        Assert.Equal($"mqtt://127.0.0.1:{broker.Port}", broker.Endpoint.ToString());
        Assert.True(client.IsConnected);
        FakeLogRecord started = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "broker_started");
        Assert.Contains($"127.0.0.1:{broker.Port}", started.Message, StringComparison.Ordinal);
        Assert.Contains("max_pending_per_client=100000", started.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Name == "embedded_broker_exposed");
        Assert.False(ListensOn(IPAddress.IPv6Loopback, broker.Port), "a 127.0.0.1 broker must not listen on IPv6 too");
    }

    [Fact]
    public async Task StopAsync_ThenStartAsync_ComesBackOnTheSamePort_ClientsDroppedThenReconnect()
    {
        // arrange
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        await broker.StartAsync(Ct);
        int port = broker.Port;
        using IMqttClient client = await ConnectAsync(broker.Endpoint);

        // act 1
        await broker.StopAsync();

        // assert 1
        Assert.False(broker.IsRunning);
        Wait.Until(() => !client.IsConnected, "the client to notice the broker is gone");
        Assert.False(ListensOn(IPAddress.Loopback, port));

        // act 2
        await broker.StartAsync(Ct);

        // MQTTnet refuses a connect ("connect/disconnect is pending") until it has finished tearing down the lost
        // connection, which can end after IsConnected turned false: retry that refusal only, for at most 10 s.
        long deadline = Environment.TickCount64 + 10_000;
        while (true)
        {
            try
            {
                await client.ConnectAsync(client.Options, Ct);
                break;
            }
            catch (InvalidOperationException) when (Environment.TickCount64 < deadline)
            {
                await Task.Yield();
            }
        }

        // assert 2
        Assert.Equal(port, broker.Port);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task StartAsync_WildcardBind_LogsExposed_EndpointIsLoopback()
    {
        // arrange
        var logs = new FakeLogCollector();
        using ILoggerFactory loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Bind = IPAddress.Any, Port = 0 }, loggerFactory: loggerFactory);

        // act
        await broker.StartAsync(Ct);

        // assert
        FakeLogRecord exposed = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "embedded_broker_exposed");
        Assert.Equal(LogLevel.Warning, exposed.Level);
        Assert.Contains("bind=0.0.0.0", exposed.Message, StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", broker.Endpoint.Host);
    }

    [Theory]
    [InlineData(-1, 100_000, "runtime.embedded_broker.port")]
    [InlineData(65536, 100_000, "runtime.embedded_broker.port")]
    [InlineData(0, 999, "runtime.embedded_broker.max_pending_messages_per_client")]
    public void Constructor_InvalidOptions_ErrorNamesTheField(int port, int maxPending, string field)
    {
        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(
            () => new EmbeddedBroker(new EmbeddedBrokerOptions { Port = port, MaxPendingMessagesPerClient = maxPending }));

        // assert
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void ParseBind_IpLiteralOrError()
    {
        // act
        IPAddress loopback = EmbeddedBrokerOptions.ParseBind(null);
        IPAddress any = EmbeddedBrokerOptions.ParseBind("0.0.0.0");
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => EmbeddedBrokerOptions.ParseBind("localhost"));

        // assert
        Assert.Equal(IPAddress.Loopback, loopback);
        Assert.Equal(IPAddress.Any, any);
        Assert.Equal("runtime.embedded_broker.bind", error.Field);
    }

    [Fact]
    public async Task QueueOverflow_SubscriberNotReading_OverwritesCounted_MetricMoves_OneRateLimitedLogLine()
    {
        // arrange: the smallest accepted queue, a subscriber that never reads, and a frozen clock for the log limit.
        var logs = new FakeLogCollector();
        using ILoggerFactory loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        var time = new FakeTimeProvider();
        await using var broker = new EmbeddedBroker(
            new EmbeddedBrokerOptions { Port = 0, MaxPendingMessagesPerClient = EmbeddedBrokerOptions.MinPendingMessagesPerClient },
            time,
            loggerFactory);
        using var overwritten = new MetricCollector<long>(broker.Metrics.BrokerMessagesOverwritten);
        await broker.StartAsync(Ct);
        using TcpClient stalled = await SubscribeWithoutReadingAsync(broker.Port, "flood/#");
        using IMqttClient publisher = await ConnectAsync(broker.Endpoint);
        byte[] payload = new byte[4096];

        // act: QoS 0 until the broker has had to drop something; bounded at 80 MB in case it never does.
        for (int i = 0; i < 20_000 && broker.MessagesOverwritten == 0; i++)
        {
            await publisher.PublishBinaryAsync("flood/a", payload, MqttQualityOfServiceLevel.AtMostOnce, cancellationToken: Ct);
        }

        Wait.Until(() => broker.MessagesOverwritten > 0, "the broker to overwrite a queued message");

        // assert
        Assert.Equal("Fsm2.Edge", broker.Metrics.BrokerMessagesOverwritten.Meter.Name);
        Assert.Equal("fsm2_broker_messages_overwritten_total", broker.Metrics.BrokerMessagesOverwritten.Name);
        Wait.Until(() => overwritten.GetMeasurementSnapshot().Sum(m => m.Value) == broker.MessagesOverwritten, "the counter to catch up");
        Wait.Until(() => logs.GetSnapshot().Any(r => r.Id.Name == "broker_queue_overwrite"), "the overwrite to be logged");
        FakeLogRecord line = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "broker_queue_overwrite");
        Assert.Equal(LogLevel.Warning, line.Level);
    }

    private static async Task<IMqttClient> ConnectAsync(BrokerEndpoint endpoint)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(
            new MqttClientOptionsBuilder().WithTcpServer(endpoint.Host, endpoint.Port).WithClientId($"test-{Guid.NewGuid():N}").Build(),
            Ct);
        return client;
    }

    // MQTT 3.1.1 CONNECT and SUBSCRIBE by hand, then never another read: the broker's send queue for this client fills.
    private static async Task<TcpClient> SubscribeWithoutReadingAsync(int port, string filter)
    {
        var client = new TcpClient { ReceiveBufferSize = 4096 };
        await client.ConnectAsync(IPAddress.Loopback, port, Ct);
        NetworkStream stream = client.GetStream();
        byte[] id = Encoding.ASCII.GetBytes("stalled");
        byte[] connect = [0x10, (byte)(12 + id.Length), 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x02, 0x00, 0x3C, 0x00, (byte)id.Length, .. id];
        await stream.WriteAsync(connect, Ct);
        byte[] connack = new byte[4];
        await stream.ReadExactlyAsync(connack, Ct);
        Assert.Equal(0, connack[3]);
        byte[] topic = Encoding.ASCII.GetBytes(filter);
        byte[] subscribe = [0x82, (byte)(5 + topic.Length), 0x00, 0x01, 0x00, (byte)topic.Length, .. topic, 0x00];
        await stream.WriteAsync(subscribe, Ct);
        byte[] suback = new byte[5];
        await stream.ReadExactlyAsync(suback, Ct);
        Assert.Equal(0x90, suback[0]);
        return client;
    }

    private static bool ListensOn(IPAddress address, int port)
    {
        using var probe = new TcpClient(address.AddressFamily);
        try
        {
            probe.Connect(address, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
