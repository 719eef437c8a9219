using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Fsm2.Edge.Mqtt.Connection;

/// <summary>
/// The value of <c>runtime.broker</c>: <c>embedded</c>, <c>mqtt://host:port</c> or <c>mqtts://host:port</c>
/// (shared/spec/50-runtime-monitoring.md §3.2, §5).
/// </summary>
/// <remarks>
/// <para>Rules, where the spec leaves them open:</para>
/// <list type="bullet">
/// <item>The scheme and <c>embedded</c> are case-insensitive; surrounding white space is ignored; an empty value means
/// <c>embedded</c>, the default.</item>
/// <item>The port may be omitted: 1883 for <c>mqtt</c>, 8883 for <c>mqtts</c> (the IANA ports). Given, it is 1–65535.</item>
/// <item>No user name or password in the URI (credentials come from <c>mqtt.username</c> and the environment variable
/// named by <c>mqtt.password_env</c>, never from the file), and no path, query or fragment.</item>
/// <item>IPv6 literals are written in brackets: <c>mqtt://[::1]:1883</c>.</item>
/// </list>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class BrokerEndpoint : IEquatable<BrokerEndpoint>
{
    /// <summary>The default configuration path of the broker setting, used in error messages.</summary>
    public const string DefaultField = "runtime.broker";

    /// <summary>The IANA port for MQTT over TCP.</summary>
    public const int DefaultPort = 1883;

    /// <summary>The IANA port for MQTT over TLS.</summary>
    public const int DefaultTlsPort = 8883;

    private const string Accepted = "expected 'embedded', mqtt://host:port or mqtts://host:port";

    private BrokerEndpoint(BrokerKind kind, string host, int port, bool useTls)
    {
        Kind = kind;
        Host = host;
        Port = port;
        UseTls = useTls;
    }

    /// <summary>The embedded broker (<c>broker: embedded</c>).</summary>
    public static BrokerEndpoint Embedded { get; } = new(BrokerKind.Embedded, string.Empty, 0, useTls: false);

    /// <summary>Embedded or external.</summary>
    public BrokerKind Kind { get; }

    /// <summary>The host name or IP literal (without brackets) of an external broker; empty for <see cref="Embedded"/>.</summary>
    public string Host { get; }

    /// <summary>The TCP port of an external broker; 0 for <see cref="Embedded"/>, whose port is a broker option.</summary>
    public int Port { get; }

    /// <summary>Whether the connection uses TLS (<c>mqtts</c>).</summary>
    public bool UseTls { get; }

    /// <summary>Creates the endpoint of an external broker.</summary>
    /// <param name="host">Host name or IP literal.</param>
    /// <param name="port">TCP port, 1–65535.</param>
    /// <param name="useTls">Whether to connect with TLS.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="ArgumentException"><paramref name="host"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is outside 1–65535.</exception>
    public static BrokerEndpoint External(string host, int port, bool useTls = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new BrokerEndpoint(BrokerKind.External, host, port, useTls);
    }

    /// <summary>Parses a broker setting.</summary>
    /// <param name="value">The setting; <see langword="null"/> or empty means <c>embedded</c>.</param>
    /// <param name="field">The configuration path named in the error message.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="BrokerConfigException">The value is not a valid broker setting; the message names
    /// <paramref name="field"/>, the value and what is accepted.</exception>
    public static BrokerEndpoint Parse(string? value, string field = DefaultField)
    {
        if (TryParse(value, out BrokerEndpoint? endpoint, out string? error))
        {
            return endpoint;
        }

        throw new BrokerConfigException(field, error);
    }

    /// <summary>Parses a broker setting without throwing.</summary>
    /// <param name="value">The setting; <see langword="null"/> or empty means <c>embedded</c>.</param>
    /// <param name="endpoint">The endpoint when the value is valid.</param>
    /// <param name="error">Why the value is invalid, without the field name.</param>
    /// <returns><see langword="true"/> when the value is valid.</returns>
    public static bool TryParse(string? value, [NotNullWhen(true)] out BrokerEndpoint? endpoint, [NotNullWhen(false)] out string? error)
    {
        endpoint = null;
        string text = value?.Trim() ?? string.Empty;
        if (text.Length == 0 || string.Equals(text, "embedded", StringComparison.OrdinalIgnoreCase))
        {
            endpoint = Embedded;
            error = null;
            return true;
        }

        int schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        string scheme = schemeEnd < 0 ? string.Empty : text[..schemeEnd].ToLowerInvariant();
        bool useTls;
        switch (scheme)
        {
            case "mqtt":
                useTls = false;
                break;
            case "mqtts":
                useTls = true;
                break;
            default:
                error = $"'{text}' is not a broker: {Accepted}";
                return false;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            error = $"'{text}' has no valid host: {Accepted}";
            return false;
        }

        if (uri.UserInfo.Length > 0)
        {
            error = $"'{Redact(text, uri)}' must not carry credentials; set mqtt.username and mqtt.password_env instead";
            return false;
        }

        if (uri.AbsolutePath is not ("/" or "") || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            error = $"'{text}' must not have a path, query or fragment: {Accepted}";
            return false;
        }

        // Uri reports -1 for an unknown scheme without a port, and rejects ports above 65535 itself.
        int port = uri.IsDefaultPort || uri.Port < 0 ? (useTls ? DefaultTlsPort : DefaultPort) : uri.Port;
        if (port is < 1 or > 65535)
        {
            error = $"'{text}' has port {port.ToString(CultureInfo.InvariantCulture)}; the port must be 1-65535";
            return false;
        }

        string host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        endpoint = new BrokerEndpoint(BrokerKind.External, host, port, useTls);
        error = null;
        return true;
    }

    /// <summary>The canonical form: <c>embedded</c>, or <c>mqtt[s]://host:port</c> with IPv6 hosts in brackets.</summary>
    /// <returns>The setting as it would be written in the configuration.</returns>
    public override string ToString()
    {
        if (Kind == BrokerKind.Embedded)
        {
            return "embedded";
        }

        string host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        return string.Create(CultureInfo.InvariantCulture, $"{(UseTls ? "mqtts" : "mqtt")}://{host}:{Port}");
    }

    /// <inheritdoc/>
    public bool Equals(BrokerEndpoint? other) =>
        other is not null && Kind == other.Kind && UseTls == other.UseTls && Port == other.Port
        && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as BrokerEndpoint);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, UseTls, Port, StringComparer.OrdinalIgnoreCase.GetHashCode(Host));

    // The value may contain a password; the message shows the URI with its user info removed.
    private static string Redact(string text, Uri uri) => text.Replace(uri.UserInfo + "@", "***@", StringComparison.Ordinal);
}
