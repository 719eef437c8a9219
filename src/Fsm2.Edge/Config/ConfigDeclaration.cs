using System.Collections;
using System.Globalization;
using System.Text;
using Fsm2.Edge.Health;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Config;

/// <summary>
/// The runtime's view of an <see cref="EdgeConfig"/>: the top-level <see cref="ChildSpec"/> list handed to
/// <c>SupervisorRuntime.SetConfiguration</c>, the Global variables for <c>SetGlobals</c>, and what the runtime has no
/// field for yet. Immutable; built by <see cref="Build(EdgeConfig, BrokerEndpoint)"/>.
/// </summary>
/// <remarks>
/// <para>Mapping rules (50-runtime-monitoring §3.5, §3.6):</para>
/// <list type="bullet">
/// <item>Top-level entries get the state mapping <c>{running: S}</c>; children of a <c>group</c> get
/// <c>{active: S, stopped: stopped}</c>, with S = <c>state</c> (default <c>active</c>); an explicit
/// <c>state_mapping</c> is used as written.</item>
/// <item>User variables are the entry's own <c>variables</c>; the runtime overlays them on the parent's. Top-level
/// entries also carry <c>runtime_id</c> (the entry's own value wins), standing in for the root's User map.</item>
/// <item>Location: every spec carries the entry's own levels; the runtime merges them over the parent's effective
/// location (<see cref="IsaLocation.Merge"/>), the top-level entries over <see cref="BaseLocation"/>, which is
/// <c>runtime.location</c> handed to <c>SupervisorRuntime.SetLocation</c>. One exception: a <c>runtime.location</c>
/// without an enterprise is valid only when every top-level entry sets one (§3.5), and the runtime refuses such a
/// base; it is then folded into each top-level spec instead (same merge, same result) and the base is empty.</item>
/// <item>A <c>group</c>'s spec carries a literal fingerprint of its file children as its config; the group worker
/// resolves the fingerprint to the children's specs through a <see cref="GroupChildrenTable"/>. A change anywhere in
/// a group's subtree changes its fingerprint, so the group re-derives and the reconcile touches only what changed.</item>
/// <item>Probes: each entry's <c>probes:</c> become its spec's <see cref="ChildSpec.Probes"/> (30-supervision §10.4),
/// in file order. An omitted interval, timeout or miss threshold stays zero, which the runtime replaces with its
/// profile-derived defaults. An <c>mqtt</c> probe without <c>target</c> gets the runtime's broker: <c>embedded</c> when
/// the runtime runs the embedded broker, else its <c>mqtt(s)://host:port</c>; an explicit target is normalized
/// (default port filled in) and used as written. A probe change is part of the group fingerprint, so only the node
/// that declares it is updated.</item>
/// <item>Per-message templates have no <c>ChildSpec</c> field: they are kept by node path in <see cref="Templates"/>
/// for the worker pack; <see cref="Probes"/> keeps the file's probe entries by node path for tooling.</item>
/// </list>
/// </remarks>
public sealed class ConfigDeclaration
{
    /// <summary>The literal config prefix of a group spec; the rest is the children's fingerprint.</summary>
    public const string GroupFingerprintPrefix = "group-children ";

    private ConfigDeclaration(
        EdgeConfig config,
        IReadOnlyList<ChildSpec> topLevel,
        IReadOnlyDictionary<string, IReadOnlyList<ChildSpec>> groupChildren,
        IReadOnlyDictionary<string, IReadOnlyList<ProbeEntry>> probes,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> templates,
        IsaLocation baseLocation)
    {
        Config = config;
        BaseLocation = baseLocation;
        TopLevel = topLevel;
        GroupChildren = groupChildren;
        Probes = probes;
        Templates = templates;
    }

    /// <summary>The config this declaration was built from.</summary>
    public EdgeConfig Config { get; }

    /// <summary>
    /// The base location of the tree for <c>SupervisorRuntime.SetLocation</c>: <c>runtime.location</c> when it is
    /// empty or has an enterprise, otherwise <see cref="IsaLocation.None"/> (see the remarks).
    /// </summary>
    public IsaLocation BaseLocation { get; }

    /// <summary>The top-level entries, in file order.</summary>
    public IReadOnlyList<ChildSpec> TopLevel { get; }

    /// <summary>The Global variables (<c>global:</c>).</summary>
    public IReadOnlyDictionary<string, object?> Globals => Config.Global;

    /// <summary>Probes by node path (only nodes that declare some).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ProbeEntry>> Probes { get; }

    /// <summary>Per-message templates by node path (only nodes that declare some).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Templates { get; }

    /// <summary>Group fingerprint → the group's children specs.</summary>
    internal IReadOnlyDictionary<string, IReadOnlyList<ChildSpec>> GroupChildren { get; }

    /// <summary>Maps a validated config onto the runtime's spec types; <c>mqtt</c> probes default to the config's own broker.</summary>
    /// <param name="config">A config from <see cref="ConfigLoader"/>.</param>
    /// <returns>The declaration.</returns>
    public static ConfigDeclaration Build(EdgeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Build(config, config.Runtime.Broker);
    }

    /// <summary>Maps a validated config onto the runtime's spec types.</summary>
    /// <param name="config">A config from <see cref="ConfigLoader"/>.</param>
    /// <param name="runtimeBroker">
    /// The broker the runtime actually runs, the target of every <c>mqtt</c> probe that names none. On a hot reload
    /// this is the broker of the config the runtime started with: <c>runtime.broker</c> is restart-only, so a changed
    /// value in the file must not re-target the probes before the restart.
    /// </param>
    /// <returns>The declaration.</returns>
    public static ConfigDeclaration Build(EdgeConfig config, BrokerEndpoint runtimeBroker)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(runtimeBroker);
        var groups = new Dictionary<string, IReadOnlyList<ChildSpec>>(StringComparer.Ordinal);
        var probes = new Dictionary<string, IReadOnlyList<ProbeEntry>>(StringComparer.Ordinal);
        var templates = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        IsaLocation runtimeLocation = config.Runtime.Location;
        bool baseUsable = runtimeLocation.IsEmpty || !string.IsNullOrEmpty(runtimeLocation.Enterprise);
        IsaLocation? folded = baseUsable ? null : runtimeLocation;
        var topLevel = new List<ChildSpec>(config.Workers.Count);
        foreach (WorkerEntry entry in config.Workers)
        {
            topLevel.Add(ToSpec(entry, folded, config, runtimeBroker, groups, probes, templates));
        }

        return new ConfigDeclaration(config, topLevel, groups, probes, templates, baseUsable ? runtimeLocation : IsaLocation.None);
    }

    /// <param name="entry">The file entry.</param>
    /// <param name="foldedBase">For a top-level entry: the runtime location to fold into its own levels, or <see langword="null"/>.</param>
    /// <param name="config">The config.</param>
    /// <param name="runtimeBroker">The default target of <c>mqtt</c> probes.</param>
    /// <param name="groups">Group fingerprints collected so far.</param>
    /// <param name="probes">Probes collected so far.</param>
    /// <param name="templates">Named templates collected so far.</param>
    private static ChildSpec ToSpec(
        WorkerEntry entry,
        IsaLocation? foldedBase,
        EdgeConfig config,
        BrokerEndpoint runtimeBroker,
        Dictionary<string, IReadOnlyList<ChildSpec>> groups,
        Dictionary<string, IReadOnlyList<ProbeEntry>> probes,
        Dictionary<string, IReadOnlyDictionary<string, string>> templates)
    {
        if (entry.Probes.Count > 0)
        {
            probes[entry.Path] = entry.Probes;
        }

        if (entry.Templates.Count > 0)
        {
            templates[entry.Path] = entry.Templates;
        }

        bool topLevel = entry.Depth == 1;
        string state = entry.State ?? "active";
        IReadOnlyDictionary<string, string> mapping = entry.StateMapping
            ?? (topLevel
                ? new Dictionary<string, string>(StringComparer.Ordinal) { ["running"] = state }
                : new Dictionary<string, string>(StringComparer.Ordinal) { ["active"] = state, ["stopped"] = "stopped" });

        IReadOnlyDictionary<string, object?> user = entry.Variables;
        if (topLevel && !user.ContainsKey("runtime_id"))
        {
            user = new Dictionary<string, object?>(user, StringComparer.Ordinal) { ["runtime_id"] = config.Runtime.Id };
        }

        IsaLocation location = foldedBase is null ? entry.Location : IsaLocation.Merge(foldedBase, entry.Location);
        var variables = new VariableBundle(user);
        IReadOnlyList<ProbeSpec>? probeSpecs = ToProbeSpecs(entry.Probes, runtimeBroker);
        if (entry.Type == ConfigReader.GroupType)
        {
            var children = new List<ChildSpec>(entry.Children.Count);
            foreach (WorkerEntry child in entry.Children)
            {
                children.Add(ToSpec(child, null, config, runtimeBroker, groups, probes, templates));
            }

            string fingerprint = GroupFingerprintPrefix + "fnv1a64:" + ConfigReader.Fnv1a64(Encoding.UTF8.GetBytes(Canonical(children)));
            groups[fingerprint] = children;
            return new ChildSpec(entry.Name, entry.Type, new UserSpec(fingerprint, variables), mapping, NullIfEmpty(location), ConfigIsLiteral: true)
            {
                Probes = probeSpecs,
            };
        }

        return new ChildSpec(entry.Name, entry.Type, new UserSpec(entry.Config, variables), mapping, NullIfEmpty(location))
        {
            Probes = probeSpecs,
        };
    }

    /// <summary>The entry's probes as runtime specs (see the remarks for the target rule); null when it declares none.</summary>
    private static ProbeSpec[]? ToProbeSpecs(IReadOnlyList<ProbeEntry> entries, BrokerEndpoint runtimeBroker)
    {
        if (entries.Count == 0)
        {
            return null;
        }

        var specs = new ProbeSpec[entries.Count];
        for (int i = 0; i < specs.Length; i++)
        {
            ProbeEntry entry = entries[i];
            string target = entry.Type == "mqtt" ? MqttTarget(entry.Target, runtimeBroker) : entry.Target ?? "";
            specs[i] = new ProbeSpec(entry.Type, entry.Id, target, entry.Interval ?? TimeSpan.Zero, entry.Timeout ?? TimeSpan.Zero, entry.MissThreshold ?? 0);
        }

        return specs;
    }

    /// <summary>An explicit target normalized (<c>mqtt://h</c> → <c>mqtt://h:1883</c>), else the runtime's broker.</summary>
    internal static string MqttTarget(string? target, BrokerEndpoint runtimeBroker)
    {
        if (target is null)
        {
            return runtimeBroker.ToString();
        }

        // The reader accepted it, so it parses; anything else is passed through for the probe type to reject.
        return ConfigReader.TryParseBroker(target, out BrokerEndpoint? endpoint) ? endpoint.ToString() : target;
    }

    private static IsaLocation? NullIfEmpty(IsaLocation location) => location == new IsaLocation() ? null : location;

    /// <summary>A text equal for structurally equal spec lists (the fingerprint input of a group).</summary>
    private static string Canonical(List<ChildSpec> specs)
    {
        var text = new StringBuilder();
        foreach (ChildSpec spec in specs)
        {
            text.Append('(').Append(spec.Name).Append('|').Append(spec.WorkerType).Append('|').Append(spec.ConfigIsLiteral ? 'L' : 'T').Append('|');
            AppendString(text, spec.UserSpec.Config);
            text.Append('|');
            AppendValue(text, spec.UserSpec.Variables.User);
            text.Append('|');
            if (spec.StateMapping is not null)
            {
                foreach (KeyValuePair<string, string> pair in spec.StateMapping.OrderBy(static p => p.Key, StringComparer.Ordinal))
                {
                    text.Append(pair.Key).Append('>').Append(pair.Value).Append(',');
                }
            }

            text.Append('|').Append(spec.Location?.ToString()).Append('|');
            foreach (ProbeSpec probe in spec.Probes ?? [])
            {
                text.Append(probe.Type).Append(',');
                AppendString(text, probe.Id);
                text.Append(',');
                AppendString(text, probe.Target);
                text.Append(',').Append(probe.Interval.Ticks.ToString(CultureInfo.InvariantCulture))
                    .Append(',').Append(probe.Timeout.Ticks.ToString(CultureInfo.InvariantCulture))
                    .Append(',').Append(probe.MissThreshold.ToString(CultureInfo.InvariantCulture)).Append(';');
            }

            text.Append(')');
        }

        return text.ToString();

        static void AppendString(StringBuilder text, string value)
            => text.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);

        static void AppendValue(StringBuilder text, object? value)
        {
            switch (value)
            {
                case null:
                    text.Append('~');
                    break;
                case string s:
                    text.Append('s');
                    AppendString(text, s);
                    break;
                case IReadOnlyDictionary<string, object?> map:
                    text.Append('{');
                    foreach (KeyValuePair<string, object?> pair in map.OrderBy(static p => p.Key, StringComparer.Ordinal))
                    {
                        AppendString(text, pair.Key);
                        text.Append('=');
                        AppendValue(text, pair.Value);
                        text.Append(';');
                    }

                    text.Append('}');
                    break;
                case IEnumerable list:
                    text.Append('[');
                    foreach (object? item in list)
                    {
                        AppendValue(text, item);
                        text.Append(',');
                    }

                    text.Append(']');
                    break;
                case IFormattable formattable:
                    text.Append(value.GetType().Name[0]);
                    AppendString(text, formattable.ToString(null, CultureInfo.InvariantCulture));
                    break;
                default:
                    AppendString(text, value.ToString() ?? "");
                    break;
            }
        }
    }
}
