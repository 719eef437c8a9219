namespace Fsm2.Edge.Mqtt.Client;

/// <summary>
/// The MQTT seam of the runtime (shared/spec/50-runtime-monitoring.md §1): the worker pack and the monitoring publisher
/// talk to a broker only through this interface. Production wraps MQTTnet 5 (<see cref="EdgeMqttClient"/>); tests use
/// the in-memory double (<see cref="InMemoryMqttBroker"/>), which has the same topic matching, QoS 0/1 and retained
/// semantics.
/// </summary>
/// <remarks>
/// <para><b>Connection.</b> An implementation connects and reconnects by itself; <see cref="State"/> says where it is and
/// <see cref="StateChanged"/> reports every change, raised off the tick thread.</para>
/// <para><b>Publishing.</b> Nothing is queued while disconnected: <see cref="PublishAsync"/> then fails at once with
/// <see cref="MqttPublishException"/>, so a caller that must not block (the monitoring publisher) simply skips.</para>
/// <para><b>Routes.</b> A route is a subscription that survives reconnects: it is re-subscribed after every
/// (re)connect, and disposing it unsubscribes. Each incoming message is handed to every route whose filter matches its
/// topic, on the receive path; handlers must return quickly and must not keep the payload after returning.</para>
/// </remarks>
public interface IEdgeMqtt
{
    /// <summary>Connected or disconnected, with the stamp of the last change.</summary>
    MqttLinkState State { get; }

    /// <summary>Raised after every change of <see cref="State"/>, off the tick thread (on the client's own threads).
    /// Handlers must not block.</summary>
    event Action<MqttLinkState>? StateChanged;

    /// <summary>Publishes one message.</summary>
    /// <param name="topic">The topic; no wildcards.</param>
    /// <param name="payload">The payload; copied or sent before the returned task completes. A zero-length retained
    /// payload clears the topic's retained message.</param>
    /// <param name="qos">QoS 0 completes when the message is written; QoS 1 when the broker acknowledged it.</param>
    /// <param name="retain">Whether the broker keeps the message for later subscribers.</param>
    /// <param name="ct">Cancels the wait.</param>
    /// <returns>A task that completes when the message is sent (QoS 0) or acknowledged (QoS 1).</returns>
    /// <exception cref="MqttPublishException">Not connected, or the broker refused the message.</exception>
    /// <exception cref="ArgumentException"><paramref name="topic"/> is not a valid topic name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    ValueTask PublishAsync(string topic, ReadOnlyMemory<byte> payload, EdgeQos qos, bool retain, CancellationToken ct);

    /// <summary>Registers a route: a subscription to <paramref name="filter"/> that survives reconnects.</summary>
    /// <param name="filter">The topic filter (<c>+</c> and <c>#</c> wildcards allowed).</param>
    /// <param name="qos">The subscription QoS; a message is delivered at the lower of its own and this.</param>
    /// <param name="handler">Receives every message whose topic matches, on the receive path.</param>
    /// <returns>The route; disposing it unsubscribes (the broker subscription ends when no route of this client uses
    /// the filter any more).</returns>
    /// <exception cref="ArgumentException"><paramref name="filter"/> is not a valid topic filter.</exception>
    IMqttRoute Route(string filter, EdgeQos qos, IEdgeMessageHandler handler);
}
