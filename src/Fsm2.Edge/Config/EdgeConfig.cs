using System.Diagnostics;
using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Config;

/// <summary>
/// A validated configuration file (50-runtime-monitoring §3): immutable; built only by <see cref="ConfigLoader"/>.
/// <see cref="ConfigDeclaration"/> turns it into the runtime's top-level <c>ChildSpec</c> list.
/// </summary>
[DebuggerDisplay("{File,nq} ({Workers.Count} top-level, {NodeCount} nodes, {CanonicalHash,nq})")]
public sealed class EdgeConfig
{
    internal EdgeConfig(
        string file,
        string contentHash,
        string canonicalHash,
        RuntimeSection runtime,
        IReadOnlyDictionary<string, object?> global,
        IReadOnlyList<WorkerEntry> workers,
        HardwareProfile profile,
        IReadOnlyList<ConfigFinding> warnings,
        int dryDerivedNodeCount)
    {
        DryDerivedNodeCount = dryDerivedNodeCount;
        File = file;
        ContentHash = contentHash;
        CanonicalHash = canonicalHash;
        Runtime = runtime;
        Global = global;
        Workers = workers;
        Profile = profile;
        Warnings = warnings;
        NodeCount = Count(workers);

        static int Count(IReadOnlyList<WorkerEntry> entries)
        {
            int n = entries.Count;
            foreach (WorkerEntry entry in entries)
            {
                n += Count(entry.Children);
            }

            return n;
        }
    }

    /// <summary>The file as the user named it.</summary>
    public string File { get; }

    /// <summary>Hash of the raw bytes (<c>fnv1a64:…</c>); equal hashes mean the file did not change at all.</summary>
    public string ContentHash { get; }

    /// <summary>
    /// Hash of the parsed content with comments, whitespace, key order and scalar spelling removed
    /// (<c>fnv1a64:…</c>). A reload whose canonical hash equals the running one's is a no-op (§4).
    /// </summary>
    public string CanonicalHash { get; }

    /// <summary>The <c>runtime:</c> section with defaults applied.</summary>
    public RuntimeSection Runtime { get; }

    /// <summary>The <c>global:</c> variables (read-only; maps, lists and primitives).</summary>
    public IReadOnlyDictionary<string, object?> Global { get; }

    /// <summary>The top-level worker entries, in file order.</summary>
    public IReadOnlyList<WorkerEntry> Workers { get; }

    /// <summary>The resolved hardware profile, with <c>runtime.overrides</c> applied.</summary>
    public HardwareProfile Profile { get; }

    /// <summary>Warnings found while loading (the file was accepted).</summary>
    public IReadOnlyList<ConfigFinding> Warnings { get; }

    /// <summary>
    /// Nodes the dry derive reached (file entries plus the children worker code declares); 0 when the load ran without
    /// a registry.
    /// </summary>
    public int DryDerivedNodeCount { get; }

    /// <summary>Declared nodes (every entry at every depth; children that worker code declares are not counted).</summary>
    public int NodeCount { get; }
}

/// <summary>The <c>runtime:</c> section (50-runtime-monitoring §3.2) with defaults applied.</summary>
public sealed record RuntimeSection
{
    /// <summary>The runtime identity.</summary>
    public required string Id { get; init; }

    /// <summary>The profile name or <c>.json</c> path that was loaded.</summary>
    public required string Profile { get; init; }

    /// <summary>The broker endpoint.</summary>
    public required BrokerEndpoint Broker { get; init; }

    /// <summary>Embedded-broker bind address; default <c>127.0.0.1</c>.</summary>
    public string EmbeddedBind { get; init; } = "127.0.0.1";

    /// <summary>Embedded-broker port, 0–65535 (0 = a free port); default 1883.</summary>
    public int EmbeddedPort { get; init; } = 1883;

    /// <summary>Embedded-broker queue per client; <see langword="null"/> takes the profile's value.</summary>
    public int? EmbeddedMaxPendingMessagesPerClient { get; init; }

    /// <summary>MQTT user name, or <see langword="null"/>.</summary>
    public string? MqttUsername { get; init; }

    /// <summary>The environment variable holding the MQTT password (never the password itself).</summary>
    public string? MqttPasswordEnv { get; init; }

    /// <summary>MQTT keep-alive; default 15 s.</summary>
    public TimeSpan MqttKeepalive { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>MQTT protocol version: <c>5</c> (default) or <c>3.1.1</c>.</summary>
    public string MqttProtocol { get; init; } = "5";

    /// <summary>CA file for <c>mqtts</c>, or <see langword="null"/>.</summary>
    public string? MqttTlsCaFile { get; init; }

    /// <summary>Skip TLS certificate verification (<c>mqtts</c> only).</summary>
    public bool MqttTlsInsecureSkipVerify { get; init; }

    /// <summary>Topic prefix; default <c>fsm2/&lt;id&gt;</c>.</summary>
    public required string TopicPrefix { get; init; }

    /// <summary>Base location merged under every node.</summary>
    public IsaLocation Location { get; init; } = new();

    /// <summary>Metrics interval; <see langword="null"/> takes the profile's value.</summary>
    public TimeSpan? MetricsInterval { get; init; }

    /// <summary>Heartbeat interval; <see langword="null"/> takes the profile's value.</summary>
    public TimeSpan? HeartbeatInterval { get; init; }

    /// <summary>Default log level: <c>trace</c>, <c>debug</c>, <c>info</c> (default), <c>warning</c> or <c>error</c>.</summary>
    public string LogLevel { get; init; } = "info";

    /// <summary>Per-category log levels.</summary>
    public IReadOnlyDictionary<string, string> LogLevels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Fleet mode settings, or <see langword="null"/> outside a fleet.</summary>
    public FleetSection? Fleet { get; init; }

    /// <summary>
    /// Canonical text of each <c>runtime:</c> key present in the file, used to find restart-only changes on reload.
    /// </summary>
    public IReadOnlyDictionary<string, string> CanonicalKeys { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>The <c>runtime.fleet</c> section (§12).</summary>
/// <param name="Name">The fleet name.</param>
/// <param name="GlobalTopic">The retained Global-variables topic; default <c>fsm2/fleet/&lt;name&gt;/global</c>.</param>
/// <param name="WaitForGlobal">How long start-up waits for the retained value; default 5 s.</param>
public sealed record FleetSection(string Name, string GlobalTopic, TimeSpan WaitForGlobal);

/// <summary>Where the runtime's MQTT clients connect: the embedded broker or an external <c>mqtt(s)://host:port</c>.</summary>
/// <param name="Embedded">Whether the runtime runs its own broker.</param>
/// <param name="Scheme"><c>embedded</c>, <c>mqtt</c> or <c>mqtts</c>.</param>
/// <param name="Host">External broker host; empty for embedded.</param>
/// <param name="Port">External broker port (default 1883, or 8883 for <c>mqtts</c>); 0 for embedded.</param>
public sealed record BrokerEndpoint(bool Embedded, string Scheme, string Host, int Port)
{
    /// <summary>The embedded broker.</summary>
    public static BrokerEndpoint EmbeddedBroker { get; } = new(true, "embedded", "", 0);

    /// <summary>The text form: <c>embedded</c> or <c>mqtt://host:port</c>.</summary>
    /// <returns>The endpoint as it is written in the file.</returns>
    public override string ToString() => Embedded ? "embedded" : $"{Scheme}://{Host}:{Port}";
}

/// <summary>One <c>workers:</c> entry (§3.4), with its position in the file.</summary>
[DebuggerDisplay("{Path,nq} ({Type,nq}) @{Line}")]
public sealed record WorkerEntry
{
    /// <summary>The registered worker type.</summary>
    public required string Type { get; init; }

    /// <summary>The entry name, unique among siblings.</summary>
    public required string Name { get; init; }

    /// <summary>The node path (<c>assembly/pc-press-1</c>).</summary>
    public required string Path { get; init; }

    /// <summary>Depth: top-level entries are 1.</summary>
    public required int Depth { get; init; }

    /// <summary>The <c>state</c> field, or <see langword="null"/> (then <c>active</c>).</summary>
    public string? State { get; init; }

    /// <summary>The explicit <c>state_mapping</c>, or <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, string>? StateMapping { get; init; }

    /// <summary>The entry's own location levels.</summary>
    public IsaLocation Location { get; init; } = new();

    /// <summary>The merged location (runtime, ancestors, entry; child levels win).</summary>
    public IsaLocation MergedLocation { get; init; } = new();

    /// <summary>The entry's own User variables.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>The <c>config</c> template text, or <see langword="null"/>.</summary>
    public string? Config { get; init; }

    /// <summary>The file line of the first line of <see cref="Config"/>'s text (block scalars: the line after <c>|</c>).</summary>
    public int ConfigLine { get; init; }

    /// <summary>Per-message templates by name (§3.4).</summary>
    public IReadOnlyDictionary<string, string> Templates { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Nested entries (type <c>group</c> only).</summary>
    public IReadOnlyList<WorkerEntry> Children { get; init; } = [];

    /// <summary>Infrastructure probes attached to this node (30-supervision §10.4).</summary>
    public IReadOnlyList<ProbeEntry> Probes { get; init; } = [];

    /// <summary>1-based line of the entry.</summary>
    public int Line { get; init; }

    /// <summary>1-based column of the entry.</summary>
    public int Column { get; init; }
}

/// <summary>One <c>probes:</c> entry: <c>{type: mqtt, id[, target]}</c> or <c>{type: tcp, id, target}</c>.</summary>
/// <remarks>
/// Target rule of <c>mqtt</c> probes: without <c>target</c> the probe checks the broker the runtime's own clients use —
/// <c>embedded</c> when <c>runtime.broker</c> is <c>embedded</c>, else the <c>runtime.broker</c> URL (with
/// <c>--broker</c> applied). An explicit <c>embedded</c>, <c>mqtt://host:port</c> or <c>mqtts://host:port</c> overrides
/// it (for example to watch a second broker a flow depends on); <c>embedded</c> is valid only on a runtime that runs
/// the embedded broker. <see cref="ConfigDeclaration"/> resolves the default when it builds the node's
/// <see cref="Health.ProbeSpec"/>.
/// </remarks>
/// <param name="Type"><c>mqtt</c> or <c>tcp</c>.</param>
/// <param name="Id">Unique per runtime, <c>[A-Za-z0-9_.-]{1,64}</c>.</param>
/// <param name="Target"><c>host:port</c> for <c>tcp</c>; for <c>mqtt</c> the explicit broker, or <see langword="null"/> for the runtime's broker.</param>
/// <param name="Interval">Probe period, or <see langword="null"/> for the profile's.</param>
/// <param name="Timeout">Probe timeout, or <see langword="null"/> for the profile's.</param>
/// <param name="MissThreshold">Consecutive misses before unhealthy, or <see langword="null"/> for the profile's.</param>
/// <param name="Line">1-based line of the probe entry.</param>
public sealed record ProbeEntry(string Type, string Id, string? Target, TimeSpan? Interval, TimeSpan? Timeout, int? MissThreshold, int Line)
{
    /// <summary>1-based line of the <c>id</c> value (where a duplicate id is reported); 0 when unknown.</summary>
    public int IdLine { get; init; }

    /// <summary>1-based column of the <c>id</c> value; 0 when unknown.</summary>
    public int IdColumn { get; init; }
}
