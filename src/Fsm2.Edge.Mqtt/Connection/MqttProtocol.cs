namespace Fsm2.Edge.Mqtt.Connection;

/// <summary>The MQTT protocol version of the runtime's clients (<c>mqtt.protocol</c>).</summary>
public enum MqttProtocol : byte
{
    /// <summary>MQTT 5 (<c>"5"</c>, the default): reason codes, message expiry.</summary>
    V5,

    /// <summary>MQTT 3.1.1 (<c>"3.1.1"</c>): for brokers without MQTT 5; no message expiry.</summary>
    V311,
}
