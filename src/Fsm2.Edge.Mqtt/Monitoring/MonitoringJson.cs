using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>
/// The runtime's JSON payloads (shared/spec/50-runtime-monitoring.md §6.2–§6.4), written with <see cref="Utf8JsonWriter"/>
/// (AOT-safe, no reflection): UTF-8, camelCase keys, timestamps RFC 3339 UTC with milliseconds.
/// </summary>
internal static class MonitoringJson
{
    private static readonly JsonWriterOptions s_options = new() { SkipValidation = false };

    /// <summary>The heartbeat's inputs.</summary>
    internal sealed record Heartbeat(
        RuntimePhase Phase, string Runtime, string Instance, string Version, string Profile, DateTimeOffset StartedAt,
        DateTimeOffset Ts, long Seq, double UptimeS, MonitoringConfigInfo? Config, (string Source, string Version)? Global,
        RuntimeStatus Status, SupervisorRuntime Source);

    public static string PhaseName(RuntimePhase phase) => phase switch
    {
        RuntimePhase.Starting => "starting",
        RuntimePhase.Online => "online",
        RuntimePhase.Stopping => "stopping",
        _ => "offline",
    };

    public static void WriteOffline(IBufferWriter<byte> buffer, string runtime, string instance, string reason, bool? clean, DateTimeOffset? ts)
    {
        using var w = new Utf8JsonWriter(buffer, s_options);
        w.WriteStartObject();
        w.WriteString("state", "offline");
        w.WriteString("runtime", runtime);
        w.WriteString("instance", instance);
        w.WriteString("reason", reason);
        if (clean is bool value)
        {
            w.WriteBoolean("clean", value);
        }

        if (ts is DateTimeOffset at)
        {
            WriteTime(w, "ts", at);
        }

        w.WriteEndObject();
    }

    public static void WriteHeartbeat(IBufferWriter<byte> buffer, Heartbeat h)
    {
        using var w = new Utf8JsonWriter(buffer, s_options);
        w.WriteStartObject();
        w.WriteString("state", PhaseName(h.Phase));
        w.WriteString("runtime", h.Runtime);
        w.WriteString("instance", h.Instance);
        w.WriteString("version", h.Version);
        w.WriteString("profile", h.Profile);
        WriteTime(w, "startedAt", h.StartedAt);
        WriteTime(w, "ts", h.Ts);
        w.WriteNumber("seq", h.Seq);
        w.WriteNumber("uptimeS", Math.Round(h.UptimeS, 3));
        if (h.Config is MonitoringConfigInfo config)
        {
            w.WriteStartObject("config");
            w.WriteNumber("generation", config.Generation);
            w.WriteString("hash", config.Hash);
            w.WriteString("file", config.File);
            w.WriteBoolean("restartRequired", config.RestartRequired);
            WriteNullableString(w, "rejectedHash", config.RejectedHash);
            WriteNullableString(w, "lastError", config.LastError);
            w.WriteEndObject();
        }

        if (h.Global is (string source, string version))
        {
            w.WriteStartObject("global");
            w.WriteString("source", source);
            if (long.TryParse(version, NumberStyles.Integer, CultureInfo.InvariantCulture, out long number))
            {
                w.WriteNumber("version", number);
            }
            else
            {
                w.WriteString("version", version);
            }

            w.WriteEndObject();
        }

        int degraded = 0;
        int removing = 0;
        foreach (NodeStatus node in h.Status.Nodes)
        {
            if (string.Equals(node.State, "degraded", StringComparison.Ordinal))
            {
                degraded++;
            }

            if (node.Lifecycle == NodeLifecycle.Removing)
            {
                removing++;
            }
        }

        w.WriteStartObject("tree");
        w.WriteNumber("nodes", h.Status.Nodes.Count);
        w.WriteNumber("degraded", degraded);
        w.WriteNumber("removing", removing);
        w.WriteEndObject();
        w.WriteStartObject("tick");
        w.WriteNumber("intervalMs", h.Source.Options.TickInterval.TotalMilliseconds);
        w.WriteNumber("count", h.Source.TickCount);
        w.WriteNumber("overruns", h.Source.TickOverruns);
        w.WriteEndObject();
        w.WriteStartObject("actions");
        w.WriteNumber("inFlight", h.Source.OutstandingActions);
        w.WriteNumber("ringCapacity", h.Source.Options.ActionQueueCapacity);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteNodeStatus(IBufferWriter<byte> buffer, NodeStatus node, DateTimeOffset since, long? configGeneration,
        string runtime, DateTimeOffset ts)
    {
        using var w = new Utf8JsonWriter(buffer, s_options);
        w.WriteStartObject();
        w.WriteString("node", node.Path);
        int slash = node.Path.LastIndexOf('/');
        w.WriteString("name", slash < 0 ? node.Path : node.Path[(slash + 1)..]);
        w.WriteString("type", node.WorkerType);
        w.WriteString("state", node.State);
        w.WriteString("desired", node.EffectiveDesiredState);
        w.WriteString("lifecycle", node.Lifecycle == NodeLifecycle.Active ? "active" : node.Lifecycle == NodeLifecycle.Removing ? "removing" : "finalized");
        w.WriteString("reason", node.Reason);
        WriteTime(w, "since", since);
        w.WriteBoolean("shutdownRequested", node.ShutdownRequested);
        w.WriteStartObject("collector");
        w.WriteNumber("restarts", node.CollectorRestartCount);
        w.WriteEndObject();
        if (node.LastError is NodeError error)
        {
            w.WriteStartObject("lastError");
            w.WriteString("site", SiteName(error.Source));
            w.WriteString("message", error.Message);
            WriteTime(w, "at", error.At);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("lastError");
        }

        w.WriteNumber("children", node.Children.Count);
        if (configGeneration is long generation)
        {
            w.WriteNumber("configGeneration", generation);
        }

        w.WriteString("runtime", runtime);
        WriteTime(w, "ts", ts);
        w.WriteEndObject();
    }

    public static void WriteMetrics(IBufferWriter<byte> buffer, string runtime, string instance, DateTimeOffset ts, double intervalS, long seq,
        List<MetricPoint> points)
    {
        using var w = new Utf8JsonWriter(buffer, s_options);
        w.WriteStartObject();
        w.WriteString("runtime", runtime);
        w.WriteString("instance", instance);
        WriteTime(w, "ts", ts);
        w.WriteNumber("intervalS", intervalS);
        w.WriteNumber("seq", seq);
        w.WriteStartArray("metrics");
        foreach (MetricPoint point in points)
        {
            w.WriteStartObject();
            w.WriteString("name", point.Name);
            w.WriteString("type", point.Type);
            if (point.Tags.Length > 0)
            {
                w.WriteStartObject("tags");
                foreach (KeyValuePair<string, string> tag in point.Tags)
                {
                    w.WriteString(tag.Key, tag.Value);
                }

                w.WriteEndObject();
            }

            if (point.Type == "histogram")
            {
                w.WriteNumber("count", point.Count);
                w.WriteNumber("sum", point.Sum);
                if (point.Interval is HistogramSummary summary)
                {
                    w.WriteNumber("p50", summary.P50);
                    w.WriteNumber("p90", summary.P90);
                    w.WriteNumber("p99", summary.P99);
                    w.WriteNumber("max", summary.Max);
                }
            }
            else
            {
                w.WriteNumber("value", point.Value);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    // The node error sources of 10-core-hierarchy §3.1 as the status's site names (§6.3).
    private static string SiteName(ErrorSource source) => source switch
    {
        ErrorSource.Derive => "derive",
        ErrorSource.Reconcile => "reconcile",
        ErrorSource.Evaluate => "next",
        ErrorSource.Collector => "collect",
        _ => "supervision",
    };

    private static void WriteNullableString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset at)
    {
        Span<char> text = stackalloc char[32];
        at.UtcDateTime.TryFormat(text, out int written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        w.WriteString(name, text[..written]);
    }
}
