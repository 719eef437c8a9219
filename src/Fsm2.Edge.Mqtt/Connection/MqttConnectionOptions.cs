using System.Globalization;

namespace Fsm2.Edge.Mqtt.Connection;

/// <summary>
/// How a runtime client reaches its broker: the resolved TCP endpoint plus the <c>mqtt.*</c> settings of
/// shared/spec/50-runtime-monitoring.md §3.2. One instance is shared by every client of a runtime (monitoring, data,
/// each probe); each client adds its own client id.
/// </summary>
/// <remarks>
/// For <c>broker: embedded</c> the endpoint is the embedded broker's bound address (<c>EmbeddedBroker.Endpoint</c>),
/// known once the broker has started. <see cref="Validate"/> enforces the cross-field rules and names the field.
/// </remarks>
public sealed class MqttConnectionOptions
{
    /// <summary>The default keep-alive (<c>mqtt.keepalive: 15s</c>); the last will fires about 1.5 × this after a loss.</summary>
    public static readonly TimeSpan DefaultKeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>The external endpoint to connect to; never <see cref="BrokerEndpoint.Embedded"/> itself.</summary>
    public required BrokerEndpoint Endpoint { get; init; }

    /// <summary>The user name (<c>mqtt.username</c>), or <see langword="null"/> for anonymous access.</summary>
    public string? Username { get; init; }

    /// <summary>The password, read by the caller from the environment variable <c>mqtt.password_env</c> names
    /// (<see cref="ReadPassword"/>); never from the configuration file.</summary>
    public string? Password { get; init; }

    /// <summary>The MQTT keep-alive period (<c>mqtt.keepalive</c>), 1 s to 18 h 12 min 15 s (the protocol's 16-bit field).</summary>
    public TimeSpan KeepAlive { get; init; } = DefaultKeepAlive;

    /// <summary>The protocol version (<c>mqtt.protocol</c>).</summary>
    public MqttProtocol Protocol { get; init; } = MqttProtocol.V5;

    /// <summary>A PEM file of CA certificates that must anchor the broker's chain (<c>mqtt.tls.ca_file</c>; <c>mqtts</c> only).
    /// Without it, the operating system's trust store is used.</summary>
    public string? TlsCaFile { get; init; }

    /// <summary>Accept any broker certificate (<c>mqtt.tls.insecure_skip_verify</c>; <c>mqtts</c> only). For test benches.</summary>
    public bool TlsInsecureSkipVerify { get; init; }

    /// <summary>Options for a client of the embedded broker, or of any broker reached at <paramref name="endpoint"/>
    /// without credentials or TLS.</summary>
    /// <param name="endpoint">An external endpoint.</param>
    /// <returns>The options with the defaults.</returns>
    public static MqttConnectionOptions For(BrokerEndpoint endpoint) => new() { Endpoint = endpoint };

    /// <summary>Parses <c>mqtt.protocol</c>: <c>"5"</c> (also <c>"5.0"</c>) or <c>"3.1.1"</c>; empty means 5.</summary>
    /// <param name="value">The setting.</param>
    /// <param name="field">The configuration path named in the error.</param>
    /// <returns>The protocol.</returns>
    /// <exception cref="BrokerConfigException">Any other value.</exception>
    public static MqttProtocol ParseProtocol(string? value, string field = "runtime.mqtt.protocol") =>
        (value?.Trim() ?? string.Empty) switch
        {
            "" or "5" or "5.0" => MqttProtocol.V5,
            "3.1.1" => MqttProtocol.V311,
            string other => throw new BrokerConfigException(field, $"'{other}' is not a protocol version; expected \"5\" or \"3.1.1\""),
        };

    /// <summary>Reads the password from the environment variable named by <c>mqtt.password_env</c>.</summary>
    /// <param name="variable">The variable name, or <see langword="null"/> for no password.</param>
    /// <param name="field">The configuration path named in the error.</param>
    /// <param name="getEnvironmentVariable">The lookup; <see cref="Environment.GetEnvironmentVariable(string)"/> when null.</param>
    /// <returns>The password, or <see langword="null"/> when <paramref name="variable"/> is null or empty.</returns>
    /// <exception cref="BrokerConfigException">The variable is not set. The message names the variable, never a value.</exception>
    public static string? ReadPassword(string? variable, string field = "runtime.mqtt.password_env", Func<string, string?>? getEnvironmentVariable = null)
    {
        if (string.IsNullOrWhiteSpace(variable))
        {
            return null;
        }

        string? value = (getEnvironmentVariable ?? Environment.GetEnvironmentVariable)(variable);
        return value ?? throw new BrokerConfigException(field, $"environment variable '{variable}' is not set");
    }

    /// <summary>Checks the cross-field rules.</summary>
    /// <param name="fieldPrefix">The prefix of the field paths in errors (<c>runtime.</c> in the configuration file).</param>
    /// <exception cref="BrokerConfigException">The endpoint is the embedded placeholder; the keep-alive is out of range; TLS
    /// settings are given for a plain <c>mqtt://</c> endpoint; a password is given without a user name; or the CA file
    /// does not exist.</exception>
    public void Validate(string fieldPrefix = "runtime.")
    {
        if (Endpoint.Kind == BrokerKind.Embedded)
        {
            throw new BrokerConfigException(
                fieldPrefix + "broker", "a client needs the embedded broker's bound endpoint (EmbeddedBroker.Endpoint), not 'embedded'");
        }

        // MQTT carries the keep-alive in a 16-bit count of seconds; 0 would disable it, and with it loss detection.
        if (KeepAlive < TimeSpan.FromSeconds(1) || KeepAlive > TimeSpan.FromSeconds(ushort.MaxValue))
        {
            throw new BrokerConfigException(
                fieldPrefix + "mqtt.keepalive",
                string.Create(CultureInfo.InvariantCulture, $"{KeepAlive.TotalSeconds}s is out of range; expected 1s to {ushort.MaxValue}s"));
        }

        if (!Endpoint.UseTls && (TlsCaFile is not null || TlsInsecureSkipVerify))
        {
            string field = TlsCaFile is not null ? "mqtt.tls.ca_file" : "mqtt.tls.insecure_skip_verify";
            throw new BrokerConfigException(fieldPrefix + field, $"only applies to mqtts:// brokers, but the broker is {Endpoint}");
        }

        if (Password is not null && string.IsNullOrEmpty(Username))
        {
            throw new BrokerConfigException(fieldPrefix + "mqtt.password_env", "a password needs mqtt.username");
        }

        if (TlsCaFile is not null && !File.Exists(TlsCaFile))
        {
            throw new BrokerConfigException(fieldPrefix + "mqtt.tls.ca_file", $"cannot read '{TlsCaFile}': file not found");
        }
    }
}
