using Fsm2.Edge.Mqtt.Tests.TestSupport;

namespace Fsm2.Edge.Mqtt.Tests.Probes;

/// <summary>The round-trip probe tests against Debian's mosquitto (skipped outside CI when it is missing; failed in CI).</summary>
public sealed class MqttRoundTripProbeMosquittoTests : MqttRoundTripProbeTestBase
{
    /// <inheritdoc/>
    protected override Task<ITestBroker> StartBrokerAsync(BrokerPolicy policy = BrokerPolicy.Open) =>
        Task.FromResult<ITestBroker>(MosquittoTestBroker.Start(policy));
}
