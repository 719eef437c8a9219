using Fsm2.Edge.Collection;
using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Probes;
using Fsm2.Edge.Mqtt.Tests.Integration;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Mqtt.Tests.Probes;

/// <summary>
/// The <c>mqtt</c> probe type's registration (shared/spec/30-supervision.md §10.2, §10.4): what a <see cref="ProbeSpec"/>
/// turns into, and how an invalid declaration becomes a configuration error naming the node and the field.
/// </summary>
public sealed class MqttProbeRegistrationTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(5);
    // Generous: these tests check registration, not timing; a loaded CI machine can take more than 200 ms for a connect
    // and a round trip.
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(2);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("spec", "S-37")]
    public async Task Create_MqttTarget_ProbeTakesSpecTimingsRuntimeIdentityAndTargetEndpoint()
    {
        // arrange
        var logs = new FakeLogCollector();
        using ILoggerFactory loggers = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug));
        MqttProbeDefaults defaults = Defaults(loggers: loggers);

        // act
        await using MqttRoundTripProbe probe = MqttProbeRegistration.Create(Spec("mqtt://127.0.0.1:1884", missThreshold: 4), TimeProvider.System, defaults);

        // assert
        Assert.Equal("broker-a", probe.Id);
        Assert.Equal(s_interval, probe.Interval);
        Assert.Equal(s_timeout, probe.Timeout);
        Assert.Equal(4, probe.MissThreshold);
        Assert.Equal("gw-1-probe-broker-a", probe.ClientId);
        Assert.Equal("fsm2/gw-1/_health/broker-a/+", probe.SubscriptionFilter);
        FakeLogRecord created = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "mqtt_probe_created");
        Assert.Contains("endpoint=mqtt://127.0.0.1:1884 ", created.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "S-37")]
    public async Task Create_EmbeddedTarget_ReachesTheRuntimesEmbeddedBroker_WithoutRecordingRunMetricsTwice()
    {
        // arrange
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        await broker.StartAsync(Ct);
        MqttProbeDefaults defaults = Defaults(embedded: broker);
        await using MqttRoundTripProbe probe = MqttProbeRegistration.Create(Spec("Embedded"), TimeProvider.System, defaults);
        using var results = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(probe.Metrics.ProbeResults);

        // act
        ProbeOutcome outcome = await probe.RunAsync(Ct);

        // assert: the scheduler records fsm2_probe_results_total for probes of the runtime, not the probe itself.
        Assert.Equal(ProbeOutcome.Success, outcome);
        Assert.Empty(results.GetMeasurementSnapshot());
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:1883", "is not a broker")]
    [InlineData("mqtt://user:secret@127.0.0.1:1883", "must not carry credentials")]
    [InlineData("mqtt://127.0.0.1:1883/health", "must not have a path")]
    [InlineData("mqtt://127.0.0.1:70000", "no valid host")]
    [InlineData("   ", "must not be empty")]
    [InlineData("embedded", "runs no embedded broker")]
    public void Create_InvalidTarget_ThrowsConfigErrorNamingTheTargetField(string target, string reason)
    {
        // arrange
        MqttProbeDefaults defaults = Defaults();

        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => MqttProbeRegistration.Create(Spec(target), TimeProvider.System, defaults));

        // assert
        Assert.Equal("probes[broker-a].target", error.Field);
        Assert.StartsWith("probes[broker-a].target: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_EmbeddedTargetBeforeTheBrokerStarted_ThrowsNamingTheTargetField()
    {
        // arrange: port 0 is known only after the first start.
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        MqttProbeDefaults defaults = Defaults(embedded: broker);

        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => MqttProbeRegistration.Create(Spec("embedded"), TimeProvider.System, defaults));

        // assert
        Assert.Equal("probes[broker-a].target", error.Field);
        Assert.Contains("has not started", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500, 500, 3, "probes[broker-a].timeout")]
    [InlineData(500, 200, 0, "probes[broker-a].miss_threshold")]
    public void Create_InvalidTiming_ThrowsNamingTheField(int intervalMs, int timeoutMs, int missThreshold, string field)
    {
        // arrange
        ProbeSpec spec = Spec("mqtt://127.0.0.1:1883") with
        {
            Interval = TimeSpan.FromMilliseconds(intervalMs),
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            MissThreshold = missThreshold,
        };

        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => MqttProbeRegistration.Create(spec, TimeProvider.System, Defaults()));

        // assert
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public async Task Create_TlsSettings_ApplyToMqttsTargetsOnly()
    {
        // arrange: a CA file that does not exist is an error only where TLS is used.
        var defaults = new MqttProbeDefaults
        {
            RuntimeId = "gw-1",
            InstanceId = Guid.NewGuid(),
            TopicPrefix = "fsm2/gw-1",
            TlsCaFile = "/nonexistent/fsm2-ca.pem",
        };

        // act
        await using MqttRoundTripProbe plain = MqttProbeRegistration.Create(Spec("mqtt://127.0.0.1:1883"), TimeProvider.System, defaults);
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(
            () => MqttProbeRegistration.Create(Spec("mqtts://127.0.0.1:8883"), TimeProvider.System, defaults));

        // assert
        Assert.Equal("broker-a", plain.Id);
        Assert.Equal("runtime.mqtt.tls.ca_file", error.Field);
    }

    [Theory]
    [InlineData("", "fsm2/gw-1", "runtime.id")]
    [InlineData("gw-1", "fsm2/#", "runtime.topic_prefix")]
    [InlineData("gw-1", "$SYS/gw", "runtime.topic_prefix")]
    public void AddMqttProbes_InvalidRuntimeSettings_ThrowNamingTheField_AndRegisterNothing(string runtimeId, string prefix, string field)
    {
        // arrange
        var probes = new ProbeFactory();
        var defaults = new MqttProbeDefaults { RuntimeId = runtimeId, InstanceId = Guid.NewGuid(), TopicPrefix = prefix };

        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => probes.AddMqttProbes(defaults));

        // assert
        Assert.Equal(field, error.Field);
        Assert.False(probes.IsRegistered(MqttProbeRegistration.MqttType));
    }

    [Fact]
    public void AddMqttProbes_RegistersTheMqttTypeOnce()
    {
        // arrange
        var probes = new ProbeFactory();

        // act
        _ = probes.AddMqttProbes(Defaults());

        // assert
        Assert.True(probes.IsRegistered("mqtt"));
        Assert.True(probes.IsRegistered(ProbeFactory.TcpType));
        Assert.Throws<InvalidOperationException>(() => probes.AddMqttProbes(Defaults()));
    }

    [Fact]
    public async Task Runtime_InvalidMqttTarget_IsAConfigErrorOfThatNode_NamingTheField_OtherProbeAttached_NodeRuns()
    {
        // arrange: a manual-mode runtime on a fake clock (the valid probe never runs: the clock does not reach it).
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var scheduler = new ManualObservationScheduler(time);
        var logs = new FakeLogCollector();
        using ILoggerFactory loggers = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug));
        var factory = new WorkerFactory();
        factory.Register<ItObserved, string>("it-line", id => new ItWorker(id, new StayState("running")));
        await using var runtime = new SupervisorRuntime(factory, new RuntimeOptions(), time, loggers, scheduler);
        runtime.AddMqttProbes(Defaults());
        runtime.SetConfiguration(
        [
            new ChildSpec("line", "it-line", UserSpec.Empty)
            {
                Probes = [new ProbeSpec("mqtt", "bad", "mqtt://127.0.0.1:1883/x"), new ProbeSpec("mqtt", "good", "mqtt://127.0.0.1:1883")],
            },
        ]);

        // act
        for (int i = 0; i < 3; i++)
        {
            scheduler.RunDue();
            runtime.TickOnce(Ct);
        }

        // assert
        NodeStatus line = Assert.IsType<NodeStatus>(runtime.Status.Find("line"));
        NodeError error = Assert.IsType<NodeError>(line.LastError);
        Assert.Equal(ErrorSource.Probe, error.Source);
        Assert.Contains("probes[bad].target: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(["good"], runtime.FindNode("line")!.ProbeIds);
        Assert.Equal("running", line.State);
        Assert.Equal(BreakerState.Closed, line.Breaker.State);
        FakeLogRecord invalid = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "probe_invalid");
        Assert.Contains("node=line ", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("probes[bad].target", invalid.Message, StringComparison.Ordinal);
    }

    private static ProbeSpec Spec(string target, int missThreshold = 3) => new("mqtt", "broker-a", target, s_interval, s_timeout, missThreshold);

    private static MqttProbeDefaults Defaults(EmbeddedBroker? embedded = null, ILoggerFactory? loggers = null) => new()
    {
        RuntimeId = "gw-1",
        InstanceId = Guid.Parse("6f0c2b9e-4d7a-4e1f-9a0b-3c5d7e9f1a2b"),
        TopicPrefix = "fsm2/gw-1",
        EmbeddedBroker = embedded,
        LoggerFactory = loggers,
    };
}
