using System.Text.Json;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

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

    [Fact]
    [Trait("spec", "50-6.7")]
    public async Task OrphanSweep_StatusOfANodeDeletedWhileTheRuntimeWasDown_IsClearedAtStart_LiveStatusesUntouched()
    {
        // arrange: the broker holds the statuses of a previous run: one of a node since deleted from the config, one of a
        // node that still exists.
        await using ITestBroker broker = await StartBrokerAsync();
        MonitoringOptions options = NewOptions();
        await using EdgeMqttClient observer = await EdgeMqttClients.ConnectAsync(broker.Endpoint, "gw-wire-observer");
        await observer.PublishAsync(options.StatusTopic("deleted-while-down"), "{\"node\":\"deleted-while-down\"}"u8.ToArray(), EdgeQos.AtLeastOnce, retain: true, Ct);
        await observer.PublishAsync(options.StatusTopic("p0/w0"), "{\"node\":\"p0/w0\",\"state\":\"old\"}"u8.ToArray(), EdgeQos.AtLeastOnce, retain: true, Ct);
        var factory = new WorkerFactory();
        IReadOnlyList<ChildSpec> top = Workers.Calibration.SyntheticTree.Register(factory, 4);
        await using var runtime = new SupervisorRuntime(factory);
        runtime.SetConfiguration(top);
        var events = new EventLog();
        using ILoggerFactory loggers = LoggerFactory.Create(b => b.AddProvider(events).SetMinimumLevel(LogLevel.Debug));
        await using EdgeMqttClient mon = await EdgeMqttClients.ConnectAsync(broker.Endpoint, "gw-wire-mon", MonitoringPublisher.CreateWill(options), name: "mon");
        await using var publisher = new MonitoringPublisher(runtime, mon, options, loggerFactory: loggers);

        // act: the runtime starts (the host's order: publisher first, then the tree, then online).
        publisher.Start();
        runtime.Start();
        publisher.MarkOnline();
        LoggedEvent swept = await events.WaitForAsync(e => e.Name == "status_orphans_cleared", "status_orphans_cleared", TimeSpan.FromSeconds(20));

        // assert: a late subscriber finds exactly the live nodes' statuses, the old one of p0/w0 replaced.
        Assert.StartsWith("status_orphans_cleared count=1", swept.Message, StringComparison.Ordinal);
        await using EdgeMqttClient late = await EdgeMqttClients.ConnectAsync(broker.Endpoint, "gw-wire-late");
        var stored = new RecordingHandler();
        using IMqttRoute lateRoute = late.Route(options.TopicPrefix + "/status/#", EdgeQos.AtLeastOnce, stored);
        await lateRoute.Subscribed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        string marker = options.TopicPrefix + "/status/~end";
        await late.PublishAsync(marker, "m"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);
        stored.WaitFor(marker, what: "the marker after the retained statuses");
        Assert.Equal(
            ["p0", "p0/w0", "p0/w1"],
            stored.Messages.Where(m => m.Retained).Select(m => m.Topic[(options.TopicPrefix.Length + "/status/".Length)..]).Order(StringComparer.Ordinal));
        Assert.Contains("\"runtime\":\"gw-wire\"", stored.On(options.StatusTopic("p0/w0")).Single().Text, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "50-12")]
    public async Task RuntimeIdConflict_TwoRuntimesWithOneIdOnOneBroker_EachLogsTheOther_BothKeepRunning()
    {
        // arrange: two processes configured with the same runtime id (same client id, same prefix), different instances.
        await using ITestBroker broker = await StartBrokerAsync();
        MonitoringOptions first = NewOptions();
        MonitoringOptions second = new() { RuntimeId = first.RuntimeId, TopicPrefix = first.TopicPrefix };
        var firstEvents = new EventLog();
        var secondEvents = new EventLog();
        using ILoggerFactory firstLoggers = LoggerFactory.Create(b => b.AddProvider(firstEvents).SetMinimumLevel(LogLevel.Debug));
        using ILoggerFactory secondLoggers = LoggerFactory.Create(b => b.AddProvider(secondEvents).SetMinimumLevel(LogLevel.Debug));
        await using var firstRuntime = new SupervisorRuntime(new WorkerFactory());
        await using var secondRuntime = new SupervisorRuntime(new WorkerFactory());
        await using EdgeMqttClient firstMon = SameIdClient(broker, first, firstLoggers);
        await using EdgeMqttClient secondMon = SameIdClient(broker, second, secondLoggers);
        await using var firstPublisher = new MonitoringPublisher(firstRuntime, firstMon, first, loggerFactory: firstLoggers);
        await using var secondPublisher = new MonitoringPublisher(secondRuntime, secondMon, second, loggerFactory: secondLoggers);
        firstMon.Start();
        firstPublisher.Start();
        firstPublisher.MarkOnline();
        await firstMon.WhenConnectedAsync().WaitAsync(TimeSpan.FromSeconds(10), Ct);

        // act: the second one starts.
        secondMon.Start();
        secondPublisher.Start();
        secondPublisher.MarkOnline();

        // assert: each logs the other's instance as an Error (from a heartbeat, or, where the broker publishes the will of a
        // session it hands over, from the other's repeated will); both go on.
        string firstId = first.InstanceId.ToString("N");
        string secondId = second.InstanceId.ToString("N");
        LoggedEvent byFirst = await firstEvents.WaitForAsync(
            e => e.Name == "runtime_id_conflict" && e.Message.Contains(secondId, StringComparison.Ordinal), "the first runtime's conflict", TimeSpan.FromSeconds(20));
        LoggedEvent bySecond = await secondEvents.WaitForAsync(
            e => e.Name == "runtime_id_conflict" && e.Message.Contains(firstId, StringComparison.Ordinal), "the second runtime's conflict", TimeSpan.FromSeconds(20));
        Assert.Equal(LogLevel.Error, byFirst.Level);
        Assert.Equal(LogLevel.Error, bySecond.Level);
        Assert.Contains($"runtime={first.RuntimeId}", byFirst.Message, StringComparison.Ordinal);
        Assert.Equal(RuntimePhase.Online, firstPublisher.Phase);
        Assert.Equal(RuntimePhase.Online, secondPublisher.Phase);
    }

    // A mon client as the host builds it from a runtime id: <id>-mon, so two runtimes with one id share it. Reconnect
    // delays as in EdgeMqttClients, a little longer so each connection lives long enough to subscribe.
    private static EdgeMqttClient SameIdClient(ITestBroker broker, MonitoringOptions options, ILoggerFactory? loggers = null) =>
        new(new EdgeMqttClientOptions
        {
            ClientId = options.RuntimeId + "-mon",
            Name = "mon",
            Connection = MqttConnectionOptions.For(broker.Endpoint),
            Will = MonitoringPublisher.CreateWill(options),
            ReconnectBase = TimeSpan.FromMilliseconds(200),
            ReconnectMax = TimeSpan.FromMilliseconds(400),
            ReconnectJitter = 0,
        }, loggerFactory: loggers);

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
