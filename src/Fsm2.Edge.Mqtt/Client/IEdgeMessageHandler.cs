namespace Fsm2.Edge.Mqtt.Client;

/// <summary>Receives the messages of a route (<see cref="IEdgeMqtt.Route"/>).</summary>
public interface IEdgeMessageHandler
{
    /// <summary>Called on the client's receive path for each message whose topic matches the route. Must return
    /// quickly (hand the work to a buffer) and must not keep <see cref="EdgeMqttMessage.Payload"/> after returning. An
    /// exception is logged (<c>mqtt_handler_failed</c>) and the message is dropped for this route only.</summary>
    /// <param name="message">The message.</param>
    void OnMessage(in EdgeMqttMessage message);
}
