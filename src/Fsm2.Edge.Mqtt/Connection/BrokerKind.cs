namespace Fsm2.Edge.Mqtt.Connection;

/// <summary>Where the runtime's broker comes from (shared/spec/50-runtime-monitoring.md §5).</summary>
public enum BrokerKind : byte
{
    /// <summary>An MQTTnet server inside the runtime process (<c>broker: embedded</c>, the default).</summary>
    Embedded,

    /// <summary>An existing broker reached over TCP (<c>mqtt://host:port</c>) or TLS (<c>mqtts://host:port</c>).</summary>
    External,
}
