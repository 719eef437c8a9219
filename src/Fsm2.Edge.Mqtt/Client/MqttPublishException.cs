namespace Fsm2.Edge.Mqtt.Client;

/// <summary>A publish that did not reach the broker: the client was not connected, the connection dropped before the
/// acknowledgement, or the broker refused the message (the reason code is in the message).</summary>
public sealed class MqttPublishException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MqttPublishException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public MqttPublishException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MqttPublishException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
