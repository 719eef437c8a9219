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
        RuntimeStatus Status, SupervisorRuntime Source, double? TickP99Us);

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

        // tree (50 §6.2, §9.3): breakersOpen counts nodes whose own breaker is not closed; frozen counts nodes running
        // health-only (an open node and every descendant it froze); stale counts nodes in the stale pause.
        int degraded = 0;
        int removing = 0;
        int breakersOpen = 0;
        int frozen = 0;
        int stale = 0;
        foreach (NodeStatus node in h.Status.Nodes)
        {
            if (string.Equals(node.Phase, "degraded", StringComparison.Ordinal))
            {
                degraded++;
            }

            if (node.Lifecycle == NodeLifecycle.Removing)
            {
                removing++;
            }

            if (node.Breaker.State != Health.BreakerState.Closed)
            {
                breakersOpen++;
            }

            if (node.Mode == Health.NodeMode.HealthOnly)
            {
                frozen++;
            }

            if (node.Ticks?.Stale == true)
            {
                stale++;
            }
        }

        w.WriteStartObject("tree");
        w.WriteNumber("nodes", h.Status.Nodes.Count);
        w.WriteNumber("degraded", degraded);
        w.WriteNumber("breakersOpen", breakersOpen);
        w.WriteNumber("frozen", frozen);
        w.WriteNumber("stale", stale);
        w.WriteNumber("removing", removing);
        w.WriteEndObject();
        w.WriteStartObject("tick");
        w.WriteNumber("intervalMs", h.Source.Options.TickInterval.TotalMilliseconds);
        w.WriteNumber("count", h.Source.TickCount);
        if (h.TickP99Us is double p99)
        {
            w.WriteNumber("p99Us", Math.Round(p99, 1));
        }
        else
        {
            w.WriteNull("p99Us");
        }

        w.WriteNumber("overruns", h.Source.TickOverruns);
        w.WriteEndObject();
        w.WriteStartObject("actions");
        w.WriteNumber("inFlight", h.Source.OutstandingActions);
        w.WriteNumber("ringUsed", h.Source.ActionQueueDepth);
        w.WriteNumber("ringCapacity", h.Source.Options.ActionQueueCapacity);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteNodeStatus(IBufferWriter<byte> buffer, NodeStatus node, DateTimeOffset since, long? configGeneration,
        string runtime, DateTimeOffset ts, ReadOnlySpan<byte> observed = default)
    {
        using var w = new Utf8JsonWriter(buffer, s_options);
        w.WriteStartObject();
        w.WriteString("node", node.Path);
        int slash = node.Path.LastIndexOf('/');
        w.WriteString("name", slash < 0 ? node.Path : node.Path[(slash + 1)..]);
        w.WriteString("type", node.WorkerType);
        w.WriteString("state", node.State);
        w.WriteString("phase", node.Phase);
        w.WriteString("desired", node.EffectiveDesiredState);
        w.WriteString("lifecycle", node.Lifecycle == NodeLifecycle.Active ? "active" : node.Lifecycle == NodeLifecycle.Removing ? "removing" : "finalized");
        w.WriteString("reason", node.Reason);
        WriteTime(w, "since", since);
        w.WriteString("mode", ModeName(node.Mode));
        WriteNullableString(w, "frozenBy", node.FrozenBy);
        w.WriteBoolean("shutdownRequested", node.ShutdownRequested);
        WriteBreaker(w, node.Breaker, ts);
        w.WriteStartObject("panicBreaker");
        w.WriteBoolean("open", node.PanicBreaker.Open);
        w.WriteNumber("panicsInWindow", node.PanicBreaker.PanicsInWindow);
        w.WriteEndObject();
        w.WriteStartObject("collector");
        // 10-core-hierarchy §5.2: since the newest observation, else (never observed) since the collector started.
        if (node.Ticks?.ObservationAge(ts) is TimeSpan age)
        {
            w.WriteNumber("ageMs", Math.Round(age.TotalMilliseconds));
        }
        else
        {
            w.WriteNull("ageMs");
        }

        w.WriteNumber("restarts", node.CollectorRestartCount);
        w.WriteBoolean("dead", node.CollectorDead);
        w.WriteBoolean("stale", node.Ticks?.Stale ?? false);
        w.WriteEndObject();
        if (node.LastError is NodeError error)
        {
            w.WriteStartObject("lastError");
            w.WriteString("class", ClassName(error));
            w.WriteString("site", SiteName(error.Source));
            w.WriteString("message", error.Message);
            WriteTime(w, "at", error.At);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("lastError");
        }

        if (node.Action is NodeActionStatus action)
        {
            w.WriteStartObject("action");
            w.WriteString("name", action.Name);
            WriteTime(w, "startedAt", action.StartedAt);
            w.WriteNumber("elapsedMs", Math.Max(0, Math.Round((ts - action.StartedAt).TotalMilliseconds)));
            w.WriteNumber("attempt", action.Attempt);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("action");
        }

        w.WriteStartObject("ticks");
        w.WriteNumber("count", node.Ticks?.Count ?? 0);
        w.WriteNumber("lastUs", Math.Round(node.Ticks?.LastMicroseconds ?? 0, 1));
        w.WriteNumber("maxUs", Math.Round(node.Ticks?.MaxMicroseconds ?? 0, 1));
        w.WriteEndObject();
        w.WriteNumber("children", node.Children.Count);
        w.WriteNumber("restarts", node.Restarts);

        // The worker-written summary (50 §6.3 `observed`), rendered beforehand by the publisher (a failing hook must not
        // leave this writer half-way through an object); null for types without a status writer or before an observation.
        if (observed.IsEmpty)
        {
            w.WriteNull("observed");
        }
        else
        {
            w.WritePropertyName("observed");
            w.WriteRawValue(observed, skipInputValidation: false);
        }

        if (configGeneration is long generation)
        {
            w.WriteNumber("configGeneration", generation);
        }

        w.WriteString("runtime", runtime);
        WriteTime(w, "ts", ts);
        w.WriteEndObject();
    }

    // 30-supervision §12: state, attempt, label, causes, nextTrialInMs (from the due time, at this publication), openSince.
    private static void WriteBreaker(Utf8JsonWriter w, BreakerStatus breaker, DateTimeOffset ts)
    {
        w.WriteStartObject("breaker");
        w.WriteString("state", breaker.State switch
        {
            Health.BreakerState.Open => "open",
            Health.BreakerState.HalfOpen => "half-open",
            _ => "closed",
        });
        w.WriteNumber("attempt", breaker.Attempt);
        WriteNullableString(w, "label", breaker.Label);
        w.WriteStartArray("causes");
        foreach (string cause in breaker.Causes)
        {
            w.WriteStringValue(cause);
        }

        w.WriteEndArray();
        if (breaker.NextTrialAt is DateTimeOffset next)
        {
            w.WriteNumber("nextTrialInMs", Math.Max(0, Math.Round((next - ts).TotalMilliseconds)));
        }
        else if (breaker.NextTrialInMs is double inMs)
        {
            w.WriteNumber("nextTrialInMs", Math.Round(inMs));
        }
        else
        {
            w.WriteNull("nextTrialInMs");
        }

        if (breaker.OpenSince is DateTimeOffset openSince)
        {
            WriteTime(w, "openSince", openSince);
        }
        else
        {
            w.WriteNull("openSince");
        }

        w.WriteEndObject();
    }

    private static string ModeName(Health.NodeMode mode) => mode switch
    {
        Health.NodeMode.HealthOnly => "health-only",
        Health.NodeMode.Shutdown => "shutdown",
        _ => "full",
    };

    // 50 §6.3 `lastError.class` (config, transient, bug): the contained exception's class when there was one; otherwise by
    // the step: derive, reconcile and probe-attachment errors come from the configuration, a silent collector is
    // transient, and a failed Next without a classified exception is a bug.
    private static string ClassName(NodeError error) => error.Class switch
    {
        Health.PanicClass.Config => "config",
        Health.PanicClass.Transient => "transient",
        Health.PanicClass.Bug => "bug",
        _ => error.Source switch
        {
            ErrorSource.Collector => "transient",
            ErrorSource.Evaluate => "bug",
            _ => "config",
        },
    };

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
