using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;

namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>Settings of the <see cref="MonitoringPublisher"/> (shared/spec/50-runtime-monitoring.md §3.2, §6, §11: the
/// profile's <c>metrics</c> and <c>status</c> sections).</summary>
public sealed class MonitoringOptions
{
    /// <summary>The runtime id (<c>runtime.id</c>), carried in every payload.</summary>
    public required string RuntimeId { get; init; }

    /// <summary>The topic prefix (<c>runtime.topic_prefix</c>, default <c>fsm2/&lt;id&gt;</c>).</summary>
    public required string TopicPrefix { get; init; }

    /// <summary>The process's random instance id (the one the MQTT probe payload carries).</summary>
    public Guid InstanceId { get; init; } = Guid.NewGuid();

    /// <summary>The runtime version shown in the heartbeat.</summary>
    public string Version { get; init; } = "1.0.0";

    /// <summary>The hardware profile name shown in the heartbeat.</summary>
    public string Profile { get; init; } = "";

    /// <summary>How often <c>runtime/state</c> is republished (<c>heartbeat_interval</c>, ≥ 1 s, default 10 s).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the metrics snapshot is published (<c>metrics_interval</c>, ≥ 1 s, default 10 s).</summary>
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The minimum time between two status publications of one node (<c>status.min_interval_ms</c>, default 1 s);
    /// changes inside it are coalesced, the newest wins.</summary>
    public TimeSpan StatusMinInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often every node's status is republished regardless of change (<c>status.refresh_interval_ms</c>,
    /// default 30 s).</summary>
    public TimeSpan StatusRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether metric series keep their <c>node</c> tag (<c>metrics.node_labels</c>); when
    /// <see langword="false"/>, series tagged <c>node</c> are aggregated (summed; histograms merged) without it.</summary>
    public bool NodeLabels { get; init; } = true;

    /// <summary>How often the publisher looks for a new runtime status. 200 ms: arbitrary, well under the 1 s status
    /// minimum interval, so a change is published within a fifth of a second while the check costs one volatile read.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The <c>runtime/state</c> topic.</summary>
    public string RuntimeStateTopic => TopicPrefix + "/runtime/state";

    /// <summary>The metrics topic.</summary>
    public string MetricsTopic => TopicPrefix + "/metrics";

    /// <summary>The status topic of a node.</summary>
    /// <param name="nodePath">The node path, for example <c>assembly/pc-press-1/source</c>.</param>
    /// <returns><c>{prefix}/status/{node-path}</c>.</returns>
    public string StatusTopic(string nodePath) => string.Concat(TopicPrefix, "/status/", nodePath);

    /// <summary>Checks every field; the message names the field.</summary>
    /// <exception cref="BrokerConfigException">A field is invalid.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RuntimeId))
        {
            throw new BrokerConfigException("runtime.id", "must not be empty");
        }

        if (!MqttTopics.IsValidTopic(TopicPrefix) || TopicPrefix[0] is '$' or '/' || TopicPrefix.EndsWith('/')
            || TopicPrefix.Contains("//", StringComparison.Ordinal))
        {
            throw new BrokerConfigException("runtime.topic_prefix", $"'{TopicPrefix}' must be a topic without wildcards, leading '$' or '/', or empty levels");
        }

        RequireAtLeast(HeartbeatInterval, TimeSpan.FromSeconds(1), "runtime.heartbeat_interval");
        RequireAtLeast(MetricsInterval, TimeSpan.FromSeconds(1), "runtime.metrics_interval");
        RequireAtLeast(StatusMinInterval, TimeSpan.Zero, "status.min_interval_ms");
        RequireAtLeast(StatusRefreshInterval, TimeSpan.FromSeconds(1), "status.refresh_interval_ms");
        if (PollInterval <= TimeSpan.Zero)
        {
            throw new BrokerConfigException("monitoring.poll_interval", "must be positive");
        }
    }

    private static void RequireAtLeast(TimeSpan value, TimeSpan minimum, string field)
    {
        if (value < minimum)
        {
            throw new BrokerConfigException(field, $"{value.TotalMilliseconds} ms is below the minimum {minimum.TotalMilliseconds} ms");
        }
    }
}
