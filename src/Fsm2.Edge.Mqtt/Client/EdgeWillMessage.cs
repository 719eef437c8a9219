namespace Fsm2.Edge.Mqtt.Client;

/// <summary>A last-will message: the broker publishes it when the client's connection ends without a normal
/// DISCONNECT (a crash, a network loss, a missed keep-alive). A normal disconnect suppresses it.</summary>
/// <param name="Topic">The will topic.</param>
/// <param name="Payload">The will payload.</param>
/// <param name="Qos">The will QoS.</param>
/// <param name="Retain">Whether the broker retains the will message.</param>
public sealed record EdgeWillMessage(string Topic, ReadOnlyMemory<byte> Payload, EdgeQos Qos, bool Retain);
