using Fsm2.Edge.Health;

namespace Fsm2.Edge.Mqtt.Connection;

/// <summary>
/// An invalid broker or MQTT client setting. The message starts with the configuration field it concerns
/// (for example <c>runtime.broker: ...</c>), and <see cref="Field"/> carries that path for tooling.
/// </summary>
public sealed class BrokerConfigException : ConfigException
{
    /// <summary>Creates the exception.</summary>
    public BrokerConfigException()
    {
        Field = string.Empty;
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public BrokerConfigException(string message)
        : base(message)
    {
        Field = string.Empty;
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BrokerConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Field = string.Empty;
    }

    /// <summary>Creates the exception for one field: the message reads <c>FIELD: reason</c>.</summary>
    /// <param name="field">The configuration path, for example <c>runtime.broker</c>.</param>
    /// <param name="reason">What is wrong and what is accepted.</param>
    public BrokerConfigException(string field, string reason)
        : base($"{field}: {reason}")
    {
        Field = field;
    }

    /// <summary>The configuration path of the offending field; empty when the exception was not made for one field.</summary>
    public string Field { get; }
}
