namespace Fsm2.Edge.Mqtt.Client;

/// <summary>The MQTT quality-of-service levels the runtime uses. QoS 2 is never used (no runtime topic needs
/// exactly-once, and the worker pack's device topics are 0 or 1).</summary>
public enum EdgeQos : byte
{
    /// <summary>QoS 0: at most once, no acknowledgement.</summary>
    AtMostOnce = 0,

    /// <summary>QoS 1: at least once, acknowledged by the broker.</summary>
    AtLeastOnce = 1,
}
