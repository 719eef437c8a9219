using System.Net;
using System.Net.Sockets;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Tests.TestSupport;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Mqtt.Tests.Client;

/// <summary>What only the MQTTnet-backed client has: its reconnect loop on the injected clock, and its metrics.</summary>
public sealed class EdgeMqttClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_BrokerUnreachable_RetriesWithDoublingDelayCappedAtMax_OnTheInjectedClock()
    {
        // arrange: a port nobody listens on; delays 1 s, 2 s, 4 s, then capped at 4 s; no jitter.
        var time = new FakeTimeProvider();
        int port = FreePort();
        await using var client = new EdgeMqttClient(
            new EdgeMqttClientOptions
            {
                ClientId = "gw-test-mon",
                Name = "mon",
                Connection = MqttConnectionOptions.For(BrokerEndpoint.External("127.0.0.1", port)),
                ReconnectBase = TimeSpan.FromSeconds(1),
                ReconnectMax = TimeSpan.FromSeconds(4),
                ReconnectJitter = 0,
            },
            time);
        var delays = new List<TimeSpan>();

        // act: each attempt fails at once (connection refused); the loop then waits on the fake clock.
        client.Start();
        for (int attempt = 1; attempt <= 4; attempt++)
        {
            Wait.Until(() => client.ConnectAttempts == attempt && client.PendingReconnectDelay is not null, $"attempt {attempt} to fail");
            TimeSpan delay = client.PendingReconnectDelay!.Value;
            delays.Add(delay);
            time.Advance(delay - TimeSpan.FromMilliseconds(1));
            Assert.Equal(attempt, client.ConnectAttempts);
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        // assert
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(4)], delays);
        Assert.False(client.State.IsConnected);
        Assert.Equal(0, client.State.Connects);
    }

    [Fact]
    public async Task Reconnect_CountsReconnectsAndReportsConnectedGauge()
    {
        // arrange
        await using EmbeddedTestBroker broker = await EmbeddedTestBroker.StartAsync();
        await using EdgeMqttClient client = EdgeMqttClients.Create(((ITestBroker)broker).Endpoint, "gw-metrics-mon", name: "mon");
        using var reconnects = new MetricCollector<long>(client.Metrics.MqttReconnects);
        using var connected = new MetricCollector<int>(client.Metrics.MqttConnected);
        client.Start();
        await client.WhenConnectedAsync(Ct).WaitAsync(Wait.DefaultTimeout, Ct);
        connected.RecordObservableInstruments();
        int upBefore = connected.LastMeasurement!.Value;

        // act
        await broker.StopAsync();
        Wait.Until(() => !client.State.IsConnected, "the loss");
        connected.RecordObservableInstruments();
        int whileDown = connected.LastMeasurement!.Value;
        await broker.RestartAsync();

        // The state flips before the reconnect counter is recorded on the client's thread: wait for both.
        Wait.Until(() => client.State.IsConnected && reconnects.GetMeasurementSnapshot().Count > 0, "the reconnect and its count");

        // assert
        Assert.Equal(1, upBefore);
        Assert.Equal(0, whileDown);
        Assert.Equal("mon", connected.LastMeasurement.Tags["client"]);
        var reconnect = Assert.Single(reconnects.GetMeasurementSnapshot());
        Assert.Equal("mon", reconnect.Tags["client"]);
        Assert.Equal(2, client.State.Connects);
    }

    [Fact]
    public void Options_InvalidBackoff_NamesTheField()
    {
        // arrange
        var options = new EdgeMqttClientOptions
        {
            ClientId = "c",
            Name = "mon",
            Connection = MqttConnectionOptions.For(BrokerEndpoint.External("127.0.0.1", 1883)),
            ReconnectBase = TimeSpan.FromSeconds(10),
            ReconnectMax = TimeSpan.FromSeconds(1),
        };

        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(options.Validate);

        // assert
        Assert.Equal("supervision.backoff_base_ms", error.Field);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
