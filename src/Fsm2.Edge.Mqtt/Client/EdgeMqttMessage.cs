using System.Buffers;

namespace Fsm2.Edge.Mqtt.Client;

/// <summary>One received message, valid only during <see cref="IEdgeMessageHandler.OnMessage"/>.</summary>
/// <param name="Topic">The topic it was published to.</param>
/// <param name="Payload">The payload; the buffer is reused after the handler returns.</param>
/// <param name="Qos">The delivery QoS (the lower of the publish and the subscription QoS).</param>
/// <param name="Retained">Whether the broker sent it from its retained store (on subscribe) rather than live.</param>
public readonly record struct EdgeMqttMessage(string Topic, ReadOnlySequence<byte> Payload, EdgeQos Qos, bool Retained);
