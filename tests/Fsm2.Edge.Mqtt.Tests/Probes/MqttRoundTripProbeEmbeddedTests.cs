using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Probes;
using Fsm2.Edge.Mqtt.Tests.TestSupport;

namespace Fsm2.Edge.Mqtt.Tests.Probes;

/// <summary>The round-trip probe tests against the embedded MQTTnet broker.</summary>
public sealed class MqttRoundTripProbeEmbeddedTests : MqttRoundTripProbeTestBase
{
    /// <inheritdoc/>
    protected override async Task<ITestBroker> StartBrokerAsync(BrokerPolicy policy = BrokerPolicy.Open) =>
        await EmbeddedTestBroker.StartAsync(policy);

    [Fact]
    public async Task RunAsync_SubscriptionRefusedByBroker_Refused_NothingPublished_RetriedNextRun()
    {
        // arrange: only the embedded broker can refuse a SUBSCRIBE (see BrokerPolicy.DenySubscriptions).
        await using ITestBroker broker = await StartBrokerAsync(BrokerPolicy.DenySubscriptions);
        await using MqttRoundTripProbe probe = NewProbe(broker.Endpoint, NewPrefix(), TimeProvider.System);

        // act
        ProbeOutcome first = await probe.RunAsync(Ct);
        ProbeOutcome second = await probe.RunAsync(Ct);

        // assert
        Assert.Equal(ProbeOutcome.Refused, first);
        Assert.Equal(ProbeOutcome.Refused, second);
        Assert.Equal(1, probe.ConnectAttempts);
        Assert.Equal(0, probe.Sequence);
    }
}
