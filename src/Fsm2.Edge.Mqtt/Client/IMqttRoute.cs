namespace Fsm2.Edge.Mqtt.Client;

/// <summary>A registered subscription of an <see cref="IEdgeMqtt"/> client (see <see cref="IEdgeMqtt.Route"/>).
/// Disposing it unsubscribes; disposing twice is harmless.</summary>
public interface IMqttRoute : IDisposable
{
    /// <summary>The topic filter.</summary>
    string Filter { get; }

    /// <summary>The subscription QoS.</summary>
    EdgeQos Qos { get; }

    /// <summary>Completes when the broker first acknowledged the subscription (at once on the in-memory double while
    /// connected; after the next connect when registered while disconnected). A message published after it completes
    /// reaches the route.</summary>
    Task Subscribed { get; }
}
