using Fsm2.Edge.Mqtt.Connection;

namespace Fsm2.Edge.Mqtt.Client;

/// <summary>Settings of one <see cref="EdgeMqttClient"/>: who it is, where it connects, its will and its reconnect
/// backoff (shared/spec/50-runtime-monitoring.md §5.2, §5.3).</summary>
public sealed class EdgeMqttClientOptions
{
    /// <summary>The default first reconnect delay: 1 s, the profile's <c>supervision.backoff_base_ms</c> default.</summary>
    public static readonly TimeSpan DefaultReconnectBase = TimeSpan.FromSeconds(1);

    /// <summary>The default reconnect delay cap: 60 s, the profile's <c>supervision.backoff_max_ms</c> default.</summary>
    public static readonly TimeSpan DefaultReconnectMax = TimeSpan.FromSeconds(60);

    /// <summary>The default bound of one connect attempt: 10 s (arbitrary; long enough for a TLS handshake to a
    /// remote broker on a slow uplink, short enough that a black-holed broker does not stall the backoff).</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The MQTT client id, for example <c>gw-press-hall-mon</c>.</summary>
    public required string ClientId { get; init; }

    /// <summary>The short client name used in logs and in the <c>client</c> metric tag (<c>mon</c>, <c>data</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The broker connection.</summary>
    public required MqttConnectionOptions Connection { get; init; }

    /// <summary>The last will registered with every connect, or <see langword="null"/> for none.</summary>
    public EdgeWillMessage? Will { get; init; }

    /// <summary>The delay before the first reconnect attempt; doubled after every failed attempt.</summary>
    public TimeSpan ReconnectBase { get; init; } = DefaultReconnectBase;

    /// <summary>The cap of the reconnect delay.</summary>
    public TimeSpan ReconnectMax { get; init; } = DefaultReconnectMax;

    /// <summary>The relative jitter of each delay, 0 ≤ jitter &lt; 1 (0.2 = ±20 %, the profile default).</summary>
    public double ReconnectJitter { get; init; } = 0.2;

    /// <summary>The bound of one connect attempt (on the client's <see cref="TimeProvider"/>).</summary>
    public TimeSpan ConnectTimeout { get; init; } = DefaultConnectTimeout;

    /// <summary>Checks every field; the message names the field.</summary>
    /// <exception cref="BrokerConfigException">A field is invalid.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            throw new BrokerConfigException("mqtt.client_id", "must not be empty");
        }

        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new BrokerConfigException("mqtt.client_name", "must not be empty");
        }

        ArgumentNullException.ThrowIfNull(Connection);
        Connection.Validate();
        if (Connection.Endpoint.Kind != BrokerKind.External)
        {
            throw new BrokerConfigException("runtime.broker", "the client needs the broker's resolved endpoint (the embedded broker's Endpoint once started)");
        }

        if (ReconnectBase <= TimeSpan.Zero || ReconnectMax < ReconnectBase)
        {
            throw new BrokerConfigException("supervision.backoff_base_ms", "the reconnect base must be positive and not above the maximum");
        }

        if (ReconnectJitter is < 0 or >= 1 || double.IsNaN(ReconnectJitter))
        {
            throw new BrokerConfigException("supervision.jitter", "must be 0 <= jitter < 1");
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            throw new BrokerConfigException("mqtt.connect_timeout", "must be positive");
        }

        if (Will is not null && !MqttTopics.IsValidTopic(Will.Topic))
        {
            throw new BrokerConfigException("mqtt.will.topic", $"'{Will.Topic}' is not a valid topic");
        }
    }
}
