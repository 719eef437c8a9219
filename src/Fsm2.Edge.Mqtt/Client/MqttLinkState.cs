using System.Diagnostics;

namespace Fsm2.Edge.Mqtt.Client;

/// <summary>The connection state of an <see cref="IEdgeMqtt"/> client.</summary>
/// <param name="IsConnected">Whether the client is connected to its broker.</param>
/// <param name="ChangedAt">When the state last changed (the client's <see cref="TimeProvider"/>).</param>
/// <param name="Connects">Successful connects so far; a value above 1 on a connected state means a reconnect.</param>
/// <param name="Reason">Why the last disconnect happened (for example <c>SessionTakenOver</c>, <c>connection_lost</c>);
/// <see langword="null"/> while connected and before the first connect.</param>
[DebuggerDisplay("{IsConnected ? \"Connected\" : \"Disconnected\",nq} since {ChangedAt}, connects = {Connects}")]
public readonly record struct MqttLinkState(bool IsConnected, DateTimeOffset ChangedAt, long Connects, string? Reason)
{
    /// <summary>The state of a client that never connected.</summary>
    /// <param name="at">The creation time.</param>
    /// <returns>A disconnected state with no connects.</returns>
    public static MqttLinkState Initial(DateTimeOffset at) => new(false, at, 0, null);
}
