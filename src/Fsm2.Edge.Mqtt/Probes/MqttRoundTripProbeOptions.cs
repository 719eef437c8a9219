using System.Globalization;
using Fsm2.Edge.Mqtt.Connection;

namespace Fsm2.Edge.Mqtt.Probes;

/// <summary>
/// Settings of one MQTT round-trip probe (shared/spec/30-supervision.md §10.2, §12): who it is, where it publishes,
/// and how often and how patiently.
/// </summary>
public sealed class MqttRoundTripProbeOptions
{
    /// <summary>The default run interval (2 s).</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(2);

    /// <summary>The default echo timeout (1 s).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The default number of consecutive misses that make the verdict unhealthy (3).</summary>
    public const int DefaultMissThreshold = 3;

    /// <summary>The probe id: <c>[A-Za-z0-9_.-]{1,64}</c>, unique per runtime. It is a topic level and part of the
    /// client id.</summary>
    public required string Id { get; init; }

    /// <summary>The runtime id (<c>runtime.id</c>): the client id is <c>{RuntimeId}-probe-{Id}</c>.</summary>
    public required string RuntimeId { get; init; }

    /// <summary>The runtime's random per-process instance id. Its 16 bytes, in the order of its 32-digit hex form
    /// (<c>Guid.ToString("N")</c>, big-endian), open every probe payload.</summary>
    public required Guid InstanceId { get; init; }

    /// <summary>The runtime topic prefix (<c>runtime.topic_prefix</c>, default <c>fsm2/{id}</c>): no wildcards, no
    /// leading <c>$</c> or <c>/</c>, no empty levels.</summary>
    public required string TopicPrefix { get; init; }

    /// <summary>Time between the starts of two runs (default 2 s). The scheduler owns the timing; the probe uses it for
    /// the bound of MQTTnet's own request timeout.</summary>
    public TimeSpan Interval { get; init; } = DefaultInterval;

    /// <summary>How long after the start of the publish the echo may arrive (default 1 s; less than <see cref="Interval"/>).
    /// A connect attempt may take twice as long.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Consecutive misses after which the verdict turns unhealthy (default 3, at least 1).</summary>
    public int MissThreshold { get; init; } = DefaultMissThreshold;

    /// <summary>Checks every field.</summary>
    /// <param name="fieldPrefix">The path prefix in errors; <c>probes[{Id}].</c> when null.</param>
    /// <exception cref="BrokerConfigException">A field is invalid; the message names it.</exception>
    public void Validate(string? fieldPrefix = null)
    {
        string prefix = fieldPrefix ?? $"probes[{Id}].";
        if (!IsValidId(Id))
        {
            throw new BrokerConfigException(prefix + "id", $"'{Id}' must match [A-Za-z0-9_.-]{{1,64}}");
        }

        if (string.IsNullOrWhiteSpace(RuntimeId))
        {
            throw new BrokerConfigException("runtime.id", "the runtime id is empty; probe client ids are {runtime}-probe-{id}");
        }

        if (InstanceId == Guid.Empty)
        {
            throw new BrokerConfigException(prefix + "instance", "the runtime instance id is empty; it must be random per process");
        }

        if (TopicError(TopicPrefix) is string topicError)
        {
            throw new BrokerConfigException("runtime.topic_prefix", topicError);
        }

        if (Interval <= TimeSpan.Zero)
        {
            throw new BrokerConfigException(prefix + "interval", Text($"{Interval.TotalMilliseconds}ms must be positive"));
        }

        if (Timeout <= TimeSpan.Zero || Timeout >= Interval)
        {
            throw new BrokerConfigException(
                prefix + "timeout", Text($"{Timeout.TotalMilliseconds}ms must be positive and below the interval ({Interval.TotalMilliseconds}ms)"));
        }

        if (MissThreshold < 1)
        {
            throw new BrokerConfigException(prefix + "miss_threshold", Text($"{MissThreshold} must be at least 1"));
        }
    }

    /// <summary>Whether <paramref name="id"/> is a valid probe id (<c>[A-Za-z0-9_.-]{1,64}</c>).</summary>
    /// <param name="id">The candidate.</param>
    /// <returns><see langword="true"/> when valid.</returns>
    public static bool IsValidId(string? id)
    {
        if (id is null || id.Length is 0 or > 64)
        {
            return false;
        }

        foreach (char c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    // The rules of runtime.topic_prefix (shared/spec/50-runtime-monitoring.md §3.2); null when valid.
    internal static string? TopicError(string? topic)
    {
        if (string.IsNullOrEmpty(topic))
        {
            return "the topic prefix is empty";
        }

        if (topic.AsSpan().IndexOfAny('+', '#') >= 0)
        {
            return $"'{topic}' must not contain wildcards";
        }

        if (topic[0] is '$' or '/')
        {
            return $"'{topic}' must not start with '$' or '/'";
        }

        if (topic.EndsWith('/') || topic.Contains("//", StringComparison.Ordinal))
        {
            return $"'{topic}' must not have empty levels";
        }

        return topic.Contains('\0', StringComparison.Ordinal) ? $"'{topic}' must not contain NUL" : null;
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
