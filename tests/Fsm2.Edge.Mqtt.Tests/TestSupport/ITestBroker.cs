using Fsm2.Edge.Mqtt.Connection;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>What a broker-backed test may do to its broker: the seam the shared test bases run against, once with
/// mosquitto and once with the embedded broker (STYLE §1.1).</summary>
public interface ITestBroker : IAsyncDisposable
{
    /// <summary>"mosquitto" or "embedded", for messages.</summary>
    string Name { get; }

    /// <summary>The loopback port; the same across <see cref="RestartAsync"/>.</summary>
    int Port { get; }

    /// <summary>The endpoint clients connect to.</summary>
    BrokerEndpoint Endpoint => BrokerEndpoint.External("127.0.0.1", Port);

    /// <summary>Takes the broker away: its listener closes and every client connection drops.</summary>
    Task StopAsync();

    /// <summary>Brings the broker back on the same port; returns once it accepts connections.</summary>
    Task RestartAsync();
}

/// <summary>How a test broker treats the probe topics.</summary>
public enum BrokerPolicy
{
    /// <summary>Anonymous clients may publish and subscribe anywhere.</summary>
    Open,

    /// <summary>Every publish is refused as not authorised (MQTT 5 PUBACK reason 0x87); subscribing stays open.</summary>
    DenyPublish,

    /// <summary>Every subscription is refused as not authorised (SUBACK 0x87). Only the embedded broker can: mosquitto
    /// 2.0's acl_file grants every SUBSCRIBE and filters at delivery instead.</summary>
    DenySubscriptions,
}
