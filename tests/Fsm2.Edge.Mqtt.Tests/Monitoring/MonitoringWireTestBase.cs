using System.Text.Json;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>The last will and the clean-shutdown marker on the wire (M-14, the MQTT part of M-27), against mosquitto
/// and the embedded broker: the will is the broker's behaviour, so the double alone cannot prove it.</summary>
public abstract class MonitoringWireTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts this class's broker.</summary>
    protected abstract Task<ITestBroker> StartBrokerAsync();

    [Fact]
    [Trait("spec", "M-14")]
    public async Task M14_MonConnectionCut_BrokerPublishesRetainedOfflineConnectionLost()
    {
        // arrange: mon reaches the broker through a proxy the test can cut.
        await using ITestBroker broker = await StartBrokerAsync();
        MonitoringOptions options = NewOptions();
        await using var proxy = PausableTcpProxy.Start(broker.Port);
        await using EdgeMqttClient mon = await EdgeMqttClients.ConnectAsync(
            BrokerEndpoint.External("127.0.0.1", proxy.Port), "gw-wire-mon", MonitoringPublisher.CreateWill(options), name: "mon");
        await using EdgeMqttClient observer = await EdgeMqttClients.ConnectAsync(broker.Endpoint, "gw-wire-observer");
        var seen = new RecordingHandler();
        using IMqttRoute route = observer.Route(options.RuntimeStateTopic, EdgeQos.AtLeastOnce, seen);
        await route.Subscribed.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        // act
        await proxy.DisposeAsync();

        // assert
        ReceivedMessage will = seen.WaitFor(options.RuntimeStateTopic, what: "the will");
        JsonElement json = JsonDocument.Parse(will.Payload).RootElement;
        Assert.Equal("offline", json.GetProperty("state").GetString());
        Assert.Equal("connection_lost", json.GetProperty("reason").GetString());
        await using EdgeMqttClient late = await EdgeMqttClients.ConnectAsync(broker.Endpoint, "gw-wire-late");
        var stored = new RecordingHandler();
        using IMqttRoute lateRoute = late.Route(options.RuntimeStateTopic, EdgeQos.AtLeastOnce, stored);
        Assert.True(stored.WaitFor(options.RuntimeStateTopic, what: "the retained will").Retained);
    }

    [Fact]
    [Trait("spec", "M-27")]
    public async Task M27_CleanShutdown_RetainedStateEndsOfflineShutdown_WillSuppressed()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        MonitoringOptions options = NewOptions();
        await using var runtime = new SupervisorRuntime(new WorkerFactory());
        EdgeMqttClient mon = await EdgeMqttClients.ConnectAsync(broker.Endpoint, "gw-wire-mon", MonitoringPublisher.CreateWill(options), name: "mon");
        await using EdgeMqttClient observer = await EdgeMqttClients.ConnectAsync(broker.Endpoint, "gw-wire-observer");
        var seen = new RecordingHandler();
        using IMqttRoute route = observer.Route(options.RuntimeStateTopic, EdgeQos.AtLeastOnce, seen);
        await route.Subscribed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await using var publisher = new MonitoringPublisher(runtime, mon, options);
        publisher.Start();
        publisher.MarkOnline();
        seen.WaitFor(options.RuntimeStateTopic, m => m.Text.Contains("\"online\"", StringComparison.Ordinal), "online");

        // act
        publisher.MarkStopping();
        seen.WaitFor(options.RuntimeStateTopic, m => m.Text.Contains("\"stopping\"", StringComparison.Ordinal), "stopping");
        await publisher.StopAsync(clean: true, Ct);
        await mon.DisposeAsync();
        await observer.PublishAsync(options.TopicPrefix + "/marker", "m"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);

        // assert: a late subscriber finds the shutdown marker, not the will.
        await using EdgeMqttClient late = await EdgeMqttClients.ConnectAsync(broker.Endpoint, "gw-wire-late");
        var stored = new RecordingHandler();
        using IMqttRoute lateRoute = late.Route(options.RuntimeStateTopic, EdgeQos.AtLeastOnce, stored);
        JsonElement final = JsonDocument.Parse(stored.WaitFor(options.RuntimeStateTopic, what: "the retained state").Payload).RootElement;
        Assert.Equal("offline", final.GetProperty("state").GetString());
        Assert.Equal("shutdown", final.GetProperty("reason").GetString());
        Assert.True(final.GetProperty("clean").GetBoolean());
        Assert.DoesNotContain(seen.Messages, m => m.Text.Contains("connection_lost", StringComparison.Ordinal));
    }

    private static MonitoringOptions NewOptions() => new()
    {
        RuntimeId = "gw-wire",
        TopicPrefix = $"fsm2/w{Guid.NewGuid():N}"[..15],
    };
}

/// <summary>M-14 and M-27 against mosquitto.</summary>
public sealed class MonitoringWireMosquittoTests : MonitoringWireTestBase
{
    /// <inheritdoc/>
    protected override Task<ITestBroker> StartBrokerAsync() => Task.FromResult<ITestBroker>(MosquittoTestBroker.Start());
}

/// <summary>M-14 and M-27 against the embedded broker.</summary>
public sealed class MonitoringWireEmbeddedTests : MonitoringWireTestBase
{
    /// <inheritdoc/>
    protected override async Task<ITestBroker> StartBrokerAsync() => await EmbeddedTestBroker.StartAsync();
}
