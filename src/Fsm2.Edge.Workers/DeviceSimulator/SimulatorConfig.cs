using System.Globalization;
using System.Net;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.DeviceSimulator;

/// <summary>One simulated tag (50-runtime-monitoring §7.6).</summary>
internal sealed record SimulatedTag(string Name, string Kind, double Min, double Max, TimeSpan Period, double Value, bool Writable);

/// <summary>The rendered config of a <c>device-simulator</c> (50-runtime-monitoring §7.6).</summary>
/// <remarks>
/// <para>Faults (50 §7.6): <c>start_failures</c>, <c>publish_fail_rate</c>, <c>start_delay</c> and <c>stop_delay</c> (the
/// action takes that long, honouring cancellation), <c>collector_delay</c> (each observation blocks that long),
/// <c>collect_throws</c> (each collection throws), <c>next_throws</c> (<c>Next</c> throws, a Bug-class panic) and
/// <c>active_for</c>.</para>
/// <para><c>active_for: D</c> limits <c>collector_delay</c>, <c>collect_throws</c> and <c>next_throws</c> to the fault
/// window <see cref="FaultsUntil"/>: the first D after the node was created (its <c>internal.created_at</c>, on the
/// runtime's clock; when a spec carries no creation time, the worker instance's creation). A restart of the node by its
/// parent keeps the node, so it does not reopen the window; a node re-created by a reload gets a new one. A delayed
/// collection never blocks past the end of the window. <c>0</c> (the default) means always.</para>
/// </remarks>
internal sealed record SimulatorConfig(
    string Device,
    string TopicPrefix,
    TimeSpan Interval,
    EdgeQos Qos,
    int Seed,
    IPEndPoint? TcpListen,
    IReadOnlyList<SimulatedTag> Tags,
    int StartFailures,
    double PublishFailRate,
    TimeSpan StartDelay = default,
    TimeSpan StopDelay = default,
    TimeSpan CollectorDelay = default,
    bool CollectThrows = false,
    bool NextThrows = false,
    DateTimeOffset? FaultsUntil = null)
{
    private static readonly string[] s_kinds = ["sine", "ramp", "random", "step", "constant"];

    /// <summary>
    /// Whether two configs describe the same simulation. Record equality compares <see cref="Tags"/> by reference, so a
    /// re-derive of an unchanged spec (a new list with equal tags) would read as a config change and restart publishing.
    /// </summary>
    public static bool SameSettings(SimulatorConfig a, SimulatorConfig b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return ReferenceEquals(a, b) || (a.Tags.SequenceEqual(b.Tags) && a == (b with { Tags = a.Tags }));
    }

    /// <summary>Whether the time-limited faults apply at <paramref name="now"/> (always when there is no window).</summary>
    public bool FaultsActive(DateTimeOffset now) => FaultsUntil is not { } until || now < until;

    /// <summary>Parses the rendered config; <paramref name="faultsFrom"/> is where the <c>active_for</c> window starts.</summary>
    /// <exception cref="FormatException">A field is missing or invalid; the message names it.</exception>
    public static SimulatorConfig Parse(string yaml, string nodePath, DateTimeOffset faultsFrom)
    {
        ConfigFields f = ConfigFields.Parse(yaml, WorkerPack.DeviceSimulatorType,
            "device", "topic_prefix", "interval", "qos", "seed", "tcp_listen", "tags", "faults");
        string device = f.String("device", required: true)!;
        string prefix = f.String("topic_prefix") ?? "devices";
        if (device.AsSpan().IndexOfAny("/+#") >= 0 || prefix.AsSpan().IndexOfAny("+#") >= 0)
        {
            throw f.Bad("device", "and topic_prefix must not contain wildcards ('/' is not allowed in device)");
        }

        TimeSpan interval = f.Duration("interval", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(10), TimeSpan.FromDays(1));
        var qos = (EdgeQos)f.Integer("qos", 0, 0, 1);
        int seed = (int)f.Integer("seed", DefaultSeed(nodePath), int.MinValue, int.MaxValue);
        IPEndPoint? listen = null;
        if (f.String("tcp_listen") is { } listenText && !IPEndPoint.TryParse(listenText, out listen))
        {
            throw f.Bad("tcp_listen", $"must be host:port with an IP address (got '{listenText}')");
        }

        IReadOnlyList<object?> tagList = f.List("tags") ?? throw f.Bad("tags", "is required (at least one tag)");
        if (tagList.Count == 0)
        {
            throw f.Bad("tags", "must list at least one tag");
        }

        var tags = new List<SimulatedTag>(tagList.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tagList.Count; i++)
        {
            string at = "tags[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            if (tagList[i] is not IReadOnlyDictionary<string, object?>)
            {
                throw f.Bad(at, "must be a mapping");
            }

            ConfigFields t = ConfigFields.Parse(ToYaml((IReadOnlyDictionary<string, object?>)tagList[i]!), $"{WorkerPack.DeviceSimulatorType} {at}",
                "name", "kind", "min", "max", "period", "value", "writable");
            string name = t.String("name", required: true)!;
            if (name.AsSpan().IndexOfAny("+#") >= 0 || !names.Add(name))
            {
                throw t.Bad("name", $"must be unique and contain no wildcard (got '{name}')");
            }

            string kind = t.Choice("kind", "constant", s_kinds);
            double min = t.Number("min", 0);
            double max = t.Number("max", 100);
            if (max < min)
            {
                throw t.Bad("max", $"must be ≥ min ({min.ToString(CultureInfo.InvariantCulture)})");
            }

            tags.Add(new SimulatedTag(name, kind, min, max,
                t.Duration("period", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(10), TimeSpan.FromDays(1)),
                t.Number("value", min), t.Bool("writable", false)));
        }

        ConfigFields? faults = f.Section("faults", "start_failures", "start_delay", "stop_delay", "collector_delay", "collect_throws",
            "next_throws", "publish_fail_rate", "active_for");
        int startFailures = (int)(faults?.Integer("start_failures", 0, 0, 1000) ?? 0);
        double failRate = faults?.Number("publish_fail_rate", 0) ?? 0;
        if (failRate is < 0 or > 1)
        {
            throw faults!.Bad("publish_fail_rate", "must be 0..1"); // a non-zero rate came from the section.
        }

        TimeSpan startDelay = faults?.Duration("start_delay", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromHours(1)) ?? TimeSpan.Zero;
        TimeSpan stopDelay = faults?.Duration("stop_delay", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromHours(1)) ?? TimeSpan.Zero;
        TimeSpan collectorDelay = faults?.Duration("collector_delay", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromHours(1)) ?? TimeSpan.Zero;
        bool collectThrows = faults?.Bool("collect_throws", false) ?? false;
        bool nextThrows = faults?.Bool("next_throws", false) ?? false;
        TimeSpan activeFor = faults?.Duration("active_for", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromDays(1)) ?? TimeSpan.Zero;
        DateTimeOffset? faultsUntil = activeFor > TimeSpan.Zero ? faultsFrom + activeFor : null;
        return new SimulatorConfig(device, prefix, interval, qos, seed, listen, tags, startFailures, failRate, startDelay, stopDelay, collectorDelay,
            collectThrows, nextThrows, faultsUntil);
    }

    /// <summary>The default seed: FNV-1a of the node path, so a node's sequence is reproducible run after run.</summary>
    internal static int DefaultSeed(string nodePath)
    {
        uint hash = 2166136261;
        foreach (char c in nodePath)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)hash;
    }

    // The tag entries arrive as normalised maps; re-reading them through ConfigFields keeps one set of error rules.
    private static string ToYaml(IReadOnlyDictionary<string, object?> map)
    {
        var text = new System.Text.StringBuilder();
        foreach (KeyValuePair<string, object?> pair in map)
        {
            text.Append(pair.Key).Append(": ");
            text.Append(pair.Value switch
            {
                null => "null",
                string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
                bool b => b ? "true" : "false",
                IFormattable n => n.ToString(null, CultureInfo.InvariantCulture),
                _ => "\"" + pair.Value + "\"",
            }).Append('\n');
        }

        return text.ToString();
    }
}
