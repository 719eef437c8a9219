using System.Globalization;
using System.Net;

namespace Fsm2.Edge.Mqtt.Broker;

/// <summary>
/// Settings of the embedded MQTTnet broker (<c>runtime.embedded_broker.*</c>, shared/spec/50-runtime-monitoring.md
/// §3.2 and §5.1).
/// </summary>
public sealed class EmbeddedBrokerOptions
{
    /// <summary>The least queue limit accepted: below it a burst of a few hundred messages already overwrites.</summary>
    public const int MinPendingMessagesPerClient = 1_000;

    /// <summary>The default queue limit: the x64-gateway profile's value (shared/spec/50-runtime-monitoring.md §11.2).</summary>
    public const int DefaultPendingMessagesPerClient = 100_000;

    /// <summary>The address the broker listens on (<c>embedded_broker.bind</c>, default 127.0.0.1). A non-loopback
    /// address logs <c>embedded_broker_exposed</c>: the embedded broker has no authentication.</summary>
    public IPAddress Bind { get; init; } = IPAddress.Loopback;

    /// <summary>The TCP port (<c>embedded_broker.port</c>, default 1883). 0 picks a free port at the first start; the
    /// broker keeps that port for its lifetime, so a restart comes back on the same one.</summary>
    public int Port { get; init; } = 1883;

    /// <summary>
    /// The per-subscriber queue limit (<c>embedded_broker.max_pending_messages_per_client</c>, at least
    /// <see cref="MinPendingMessagesPerClient"/>). MQTTnet's own default is 250 with drop-oldest overflow, which loses
    /// messages silently under fan-in (shared/spec/80-toolchain.md §4); every overflow that still happens is counted in
    /// <c>fsm2_broker_messages_overwritten_total</c>.
    /// </summary>
    public int MaxPendingMessagesPerClient { get; init; } = DefaultPendingMessagesPerClient;

    /// <summary>Parses <c>embedded_broker.bind</c>: an IPv4 or IPv6 literal (no host names: the broker binds, it does not resolve).</summary>
    /// <param name="value">The setting.</param>
    /// <param name="field">The configuration path named in the error.</param>
    /// <returns>The address.</returns>
    /// <exception cref="Connection.BrokerConfigException">The value is not an IP literal.</exception>
    public static IPAddress ParseBind(string? value, string field = "runtime.embedded_broker.bind")
    {
        string text = value?.Trim() ?? string.Empty;
        if (text.Length == 0)
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(text, out IPAddress? address)
            ? address
            : throw new Connection.BrokerConfigException(field, $"'{text}' is not an IP address; expected e.g. 127.0.0.1, 0.0.0.0 or ::1");
    }

    /// <summary>Checks the ranges.</summary>
    /// <param name="fieldPrefix">The prefix of the field paths in errors.</param>
    /// <exception cref="Connection.BrokerConfigException">The port is outside 0–65535, or the queue limit is below
    /// <see cref="MinPendingMessagesPerClient"/>.</exception>
    public void Validate(string fieldPrefix = "runtime.embedded_broker.")
    {
        if (Port is < 0 or > 65535)
        {
            throw new Connection.BrokerConfigException(
                fieldPrefix + "port", string.Create(CultureInfo.InvariantCulture, $"{Port} is out of range; expected 0-65535 (0 = a free port)"));
        }

        if (MaxPendingMessagesPerClient < MinPendingMessagesPerClient)
        {
            throw new Connection.BrokerConfigException(
                fieldPrefix + "max_pending_messages_per_client",
                string.Create(CultureInfo.InvariantCulture, $"{MaxPendingMessagesPerClient} is below the minimum {MinPendingMessagesPerClient}"));
        }
    }
}
