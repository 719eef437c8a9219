using System.Globalization;
using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Config;

internal sealed partial class ConfigReader
{
    /// <summary>The container type whose <c>children:</c> come from the file (§7.1).</summary>
    internal const string GroupType = "group";

    private static readonly string[] s_entryKeys =
        ["type", "name", "state", "state_mapping", "location", "variables", "config", "templates", "children", "probes"];

    private static readonly string[] s_probeKeys = ["type", "id", "target", "interval", "timeout", "miss_threshold"];

    /// <summary>Desired states of the built-in pack (§7.0) and of <c>group</c>.</summary>
    private static readonly string[] s_packStates = ["active", "stopped"];

    private static readonly string[] s_packTypes =
        [GroupType, "protocol-converter", "connection", "source-flow", "sink-flow", "device-simulator"];

    // Entries that already have a finding are not dry-derived (one defect, one finding).
    private readonly HashSet<WorkerEntry> _entriesWithErrors = [];

    /// <summary>The desired states of a type, or <see langword="null"/> when the type does not declare them.</summary>
    private IReadOnlyList<string>? DesiredStatesOf(string type)
    {
        if (_options.DesiredStates.TryGetValue(type, out IReadOnlyList<string>? states))
        {
            return states;
        }

        return Array.IndexOf(s_packTypes, type) >= 0 ? s_packStates : null;
    }

    private List<WorkerEntry> ReadEntries(YSeq seq, string listPath, string parentNodePath, int depth, int maxDepth, string? parentType, IsaLocation parentLocation)
    {
        var entries = new List<WorkerEntry>(seq.Items.Count);
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        int index = 0;
        foreach (YNode item in seq.Items)
        {
            index++;
            if (ReadEntry(item, listPath, index, parentNodePath, depth, maxDepth, parentType, parentLocation, names) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    private WorkerEntry? ReadEntry(
        YNode node, string listPath, int index, string parentNodePath, int depth, int maxDepth, string? parentType,
        IsaLocation parentLocation, Dictionary<string, int> siblingNames)
    {
        int errorsBefore = _findings.Count(static f => f.IsError);
        if (node is not YMap map)
        {
            Error(node, ConfigCodes.WrongType, $"{listPath}[#{index}]", $"expected a worker entry (mapping), got {Describe(node)}");
            return null;
        }

        // The path uses the entry's name when it is a valid one, its 1-based position otherwise (§3.8).
        string? rawName = (map["name"] as YScalar)?.Value as string;
        string label = rawName is not null && NamePattern().IsMatch(rawName) ? rawName : "#" + index.ToString(CultureInfo.InvariantCulture);
        string path = $"{listPath}[{label}]";
        CheckKeys(map, path, s_entryKeys);

        string? type = AsString(map["type"], path + ".type");
        if (type is null)
        {
            Error(map, ConfigCodes.MissingField, path + ".type", "'type' is required");
        }
        else if (_options.Registry is { } registry && !registry.IsRegistered(type))
        {
            Error(map["type"]!, ConfigCodes.UnknownWorkerType, path + ".type",
                $"unknown worker type '{type}'; registered: {string.Join(", ", registry.ListRegisteredTypes())}");
        }

        string? name = AsString(map["name"], path + ".name");
        if (name is null)
        {
            Error(map, ConfigCodes.MissingField, path + ".name", "'name' is required");
        }
        else if (!NamePattern().IsMatch(name))
        {
            Error(map["name"]!, ConfigCodes.InvalidName, path + ".name", $"'{name}' must match ^[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}$");
        }
        else if (siblingNames.TryGetValue(name, out int firstLine))
        {
            Error(map["name"]!, ConfigCodes.DuplicateName, path + ".name",
                string.Create(CultureInfo.InvariantCulture, $"name '{name}' already used at line {firstLine}"));
        }
        else
        {
            siblingNames.Add(name, map["name"]!.Line);
        }

        string nodePath = parentNodePath.Length == 0 ? name ?? label : $"{parentNodePath}/{name ?? label}";

        // §3.6: state and state_mapping.
        string? state = AsString(map["state"], path + ".state");
        IReadOnlyList<string>? ownStates = type is null ? null : DesiredStatesOf(type);
        IReadOnlyList<string> parentStates = parentType is null ? ["running"] : DesiredStatesOf(parentType) ?? [];
        if (state is not null && ownStates is not null && !ownStates.Contains(state))
        {
            Error(map["state"]!, ConfigCodes.InvalidDesiredState, path + ".state",
                $"'{state}' is not a desired state of {type} ({string.Join(", ", ownStates)})");
        }

        Dictionary<string, string>? mapping = null;
        if (AsMap(map["state_mapping"], path + ".state_mapping") is { } mappingNode)
        {
            if (state is not null)
            {
                Error(mappingNode, ConfigCodes.StateWithMapping, path + ".state_mapping", "state and state_mapping are mutually exclusive");
            }

            mapping = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<YScalar, YNode> pair in mappingNode.Entries)
            {
                string keyPath = path + ".state_mapping." + pair.Key.Text;
                if (parentStates.Count > 0 && !parentStates.Contains(pair.Key.Text))
                {
                    string owner = parentType is null ? "the runtime (running)" : $"{parentType} ({string.Join(", ", parentStates)})";
                    Error(pair.Key, ConfigCodes.InvalidMapping, keyPath, $"'{pair.Key.Text}' is not a desired state of {owner}");
                }

                string? value = AsString(pair.Value, keyPath);
                if (value is null)
                {
                    continue;
                }

                if (ownStates is not null && !ownStates.Contains(value))
                {
                    Error(pair.Value, ConfigCodes.InvalidMapping, keyPath, $"'{value}' is not a desired state of {type} ({string.Join(", ", ownStates)})");
                }

                mapping[pair.Key.Text] = value;
            }
        }

        IsaLocation location = map["location"] is { } locationNode ? ReadLocation(locationNode, path + ".location") : new IsaLocation();
        IsaLocation merged = IsaLocation.Merge(parentLocation, location); // the runtime's merge (20-templating §3.2)
        IReadOnlyDictionary<string, object?> variables = ReadVariables(map["variables"], path + ".variables");

        var sources = new TemplateSources();
        string? config = null;
        int configLine = 0;
        if (map["config"] is { } configNode and not YScalar { Value: null })
        {
            if (configNode is YScalar configScalar)
            {
                config = configScalar.Text;
                configLine = FirstContentLine(configScalar);
                sources.Config = configScalar;
                CheckTemplate(configScalar, path + ".config");
            }
            else
            {
                Error(configNode, ConfigCodes.WrongType, path + ".config", $"expected a string (a Liquid template producing YAML), got {configNode.Kind}; write 'config: |' and indent the YAML");
            }
        }

        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        if (AsMap(map["templates"], path + ".templates") is { } templatesNode)
        {
            foreach (KeyValuePair<YScalar, YNode> pair in templatesNode.Entries)
            {
                string templatePath = path + ".templates." + pair.Key.Text;
                if (pair.Value is YScalar { Value: not null } templateScalar)
                {
                    templates[pair.Key.Text] = templateScalar.Text;
                    sources.Named[pair.Key.Text] = templateScalar;
                    CheckTemplate(templateScalar, templatePath);
                    CheckShadowing(pair.Value, templatePath, variables);
                }
                else
                {
                    Error(pair.Value, ConfigCodes.WrongType, templatePath, $"expected a template string, got {Describe(pair.Value)}");
                }
            }
        }

        IReadOnlyList<ProbeEntry> probes = ReadProbes(map["probes"], path + ".probes");

        IReadOnlyList<WorkerEntry> children = [];
        if (map["children"] is { } childrenNode and not YScalar { Value: null })
        {
            if (type is not null && type != GroupType)
            {
                Error(map.KeyOf("children")!, ConfigCodes.ChildrenNotAllowed, path + ".children", "'children' is only allowed on type group");
            }
            else if (childrenNode is not YSeq childSeq)
            {
                Error(childrenNode, ConfigCodes.WrongType, path + ".children", $"expected a list of worker entries, got {childrenNode.Kind}");
            }
            else if (depth + 1 > maxDepth && childSeq.Items.Count > 0)
            {
                Error(childSeq.Items[0], ConfigCodes.TooDeep, path + ".children",
                    string.Create(CultureInfo.InvariantCulture, $"depth {depth + 1} exceeds max_depth {maxDepth}"));
            }
            else
            {
                children = ReadEntries(childSeq, path + ".children", nodePath, depth + 1, maxDepth, type, merged);
            }
        }

        var entry = new WorkerEntry
        {
            Type = type ?? "",
            Name = name ?? label,
            Path = nodePath,
            Depth = depth,
            State = state,
            StateMapping = mapping,
            Location = location,
            MergedLocation = merged,
            Variables = variables,
            Config = config,
            ConfigLine = configLine,
            Templates = templates,
            Children = children,
            Probes = probes,
            Line = map.Line,
            Column = map.Column,
        };
        if (_findings.Count(static f => f.IsError) != errorsBefore)
        {
            _entriesWithErrors.Add(entry);
        }

        _entryPaths[entry] = path;
        _templateSources[entry] = sources;
        return entry;
    }

    // The field path of each entry (workers[assembly].children[pc-press-1]), for findings raised after reading.
    private readonly Dictionary<WorkerEntry, string> _entryPaths = new(ReferenceEqualityComparer.Instance);

    private IReadOnlyDictionary<string, object?> ReadVariables(YNode? node, string path)
    {
        YMap? map = AsMap(node, path);
        if (map is null)
        {
            return new Dictionary<string, object?>(StringComparer.Ordinal);
        }

        // The runtime's own key rules (20-templating §1.5): reserved and invalid keys are errors, keys that templates
        // cannot reach (Liquid literals, loop names, Go keywords) are warnings; each reported at its key.
        var plain = (IReadOnlyDictionary<string, object?>)ToPlain(map)!;
        foreach (TemplateFinding finding in TemplateValidation.CheckVariables(plain, path))
        {
            string key = finding.Field[(path.Length + 1)..];
            YNode at = map.KeyOf(key) ?? (YNode)map;
            if (finding.Severity == Templating.FindingSeverity.Error)
            {
                Error(at, ConfigCodes.InvalidVariableKey, finding.Field, finding.Message);
            }
            else
            {
                Warning(at, ConfigCodes.InvalidVariableKey, finding.Field, finding.Message);
            }
        }

        return plain;
    }

    /// <summary>FSM2CFG061: the per-message variables <c>tag</c> and <c>topic</c> shadow User variables of that name (§7.4).</summary>
    private void CheckShadowing(YNode at, string path, IReadOnlyDictionary<string, object?> variables)
    {
        foreach (string perMessage in (string[])["tag", "topic"])
        {
            if (variables.ContainsKey(perMessage))
            {
                Warning(at, ConfigCodes.ShadowedVariable, path, $"'{perMessage}' in variables is shadowed in {path[(path.IndexOf(".templates.", StringComparison.Ordinal) + 1)..]}");
            }
        }
    }

    private List<ProbeEntry> ReadProbes(YNode? node, string path)
    {
        var probes = new List<ProbeEntry>();
        if (node is null or YScalar { Value: null })
        {
            return probes;
        }

        if (node is not YSeq seq)
        {
            Error(node, ConfigCodes.WrongType, path, $"expected a list of probes, got {node.Kind}");
            return probes;
        }

        int index = 0;
        foreach (YNode item in seq.Items)
        {
            index++;
            string probePath = $"{path}[#{index}]";
            if (item is not YMap map)
            {
                Error(item, ConfigCodes.WrongType, probePath, $"expected a probe {{type, id}}, got {Describe(item)}");
                continue;
            }

            CheckKeys(map, probePath, s_probeKeys);
            string? type = AsString(map["type"], probePath + ".type");
            string? id = AsString(map["id"], probePath + ".id");
            string? target = AsString(map["target"], probePath + ".target");
            bool ok = true;
            if (type is null)
            {
                Error(map, ConfigCodes.MissingField, probePath + ".type", "'type' is required (mqtt or tcp)");
                ok = false;
            }
            else if (type is not ("mqtt" or "tcp"))
            {
                Error(map["type"]!, ConfigCodes.InvalidEnum, probePath + ".type", $"probe type must be mqtt or tcp, got '{type}'");
                ok = false;
            }

            if (id is null)
            {
                Error(map, ConfigCodes.MissingField, probePath + ".id", "'id' is required");
                ok = false;
            }
            else if (!ProbeIdPattern().IsMatch(id))
            {
                Error(map["id"]!, ConfigCodes.InvalidProbe, probePath + ".id", $"probe id '{id}' must match ^[A-Za-z0-9_.-]{{1,64}}$");
                ok = false;
            }

            if (type == "tcp" && (target is null || !IsHostPort(target)))
            {
                Error(map["target"] ?? map, ConfigCodes.InvalidProbe, probePath + ".target",
                    target is null ? "a tcp probe needs target: \"host:port\"" : $"target '{target}' must be host:port with a port 1-65535");
                ok = false;
            }
            else if (type == "mqtt" && target is not null && MqttTargetError(target) is { } targetError)
            {
                Error(map["target"]!, ConfigCodes.InvalidProbe, probePath + ".target", targetError);
                ok = false;
            }

            TimeSpan? interval = AsDuration(map["interval"], probePath + ".interval", TimeSpan.FromMilliseconds(1));
            TimeSpan? timeout = AsDuration(map["timeout"], probePath + ".timeout", TimeSpan.FromMilliseconds(1));
            if (interval is not null || timeout is not null)
            {
                // The side an entry leaves out comes from the profile (runtime.overrides applied), so the runtime's
                // rule "timeout below interval" is checked here, where the finding can name the line.
                TimeSpan? effectiveInterval = interval ?? (_profile is { } p1 ? TimeSpan.FromMilliseconds(p1.Supervision.ProbeIntervalMs) : null);
                TimeSpan? effectiveTimeout = timeout ?? (_profile is { } p2 ? TimeSpan.FromMilliseconds(p2.Supervision.ProbeTimeoutMs) : null);
                if (effectiveInterval is { } i && effectiveTimeout is { } t && t >= i)
                {
                    YNode at = map[timeout is not null ? "timeout" : "interval"]!;
                    string message = interval is not null && timeout is not null
                        ? "timeout must be shorter than interval"
                        : timeout is not null
                            ? $"timeout {Format(t)} must be shorter than the profile's probe interval {Format(i)}"
                            : $"interval {Format(i)} must be longer than the profile's probe timeout {Format(t)}";
                    Error(at, ConfigCodes.InvalidProbe, probePath + (timeout is not null ? ".timeout" : ".interval"), message);
                    ok = false;
                }
            }

            long? misses = AsInteger(map["miss_threshold"], probePath + ".miss_threshold", 1, 1_000);
            if (ok)
            {
                YNode idNode = map["id"]!;
                probes.Add(new ProbeEntry(type!, id!, target, interval, timeout, (int?)misses, map.Line) { IdLine = idNode.Line, IdColumn = idNode.Column });
            }
        }

        return probes;

        static string Format(TimeSpan value) => value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";

        static bool IsHostPort(string text)
        {
            int colon = text.LastIndexOf(':');
            return colon > 0
                && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
                && port is >= 1 and <= 65_535;
        }
    }

    /// <summary>
    /// The target rule of an <c>mqtt</c> probe (FSM2CFG056): <c>embedded</c>, <c>mqtt://host:port</c> or
    /// <c>mqtts://host:port</c>; <c>embedded</c> only when the runtime runs the embedded broker. No target means the
    /// runtime's own broker (<see cref="ConfigDeclaration"/> resolves it).
    /// </summary>
    /// <returns>The problem, or <see langword="null"/> when the target is usable.</returns>
    private string? MqttTargetError(string target)
    {
        if (!TryParseBroker(target, out BrokerEndpoint? endpoint))
        {
            return $"target '{target}' must be 'embedded', mqtt://host:port or mqtts://host:port (omit it to probe the runtime's broker)";
        }

        return endpoint.Embedded && !_runtimeBroker.Embedded
            ? $"target 'embedded' needs runtime.broker: embedded, but this runtime connects to {_runtimeBroker}; omit the target to probe that broker"
            : null;
    }

    /// <summary>FSM2CFG056: probe ids are unique per runtime (30-supervision §10.1).</summary>
    private void CheckProbeIds(IReadOnlyList<WorkerEntry> topLevel)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        Walk(topLevel);

        void Walk(IReadOnlyList<WorkerEntry> entries)
        {
            foreach (WorkerEntry entry in entries)
            {
                for (int index = 0; index < entry.Probes.Count; index++)
                {
                    ProbeEntry probe = entry.Probes[index];
                    if (owners.TryGetValue(probe.Id, out string? owner))
                    {
                        Error(probe.IdLine, probe.IdColumn, ConfigCodes.InvalidProbe, $"{_entryPaths[entry]}.probes[#{index + 1}].id",
                            $"probe id '{probe.Id}' is already used by {owner}");
                        _entriesWithErrors.Add(entry);
                    }
                    else
                    {
                        owners.Add(probe.Id, _entryPaths[entry]);
                    }
                }

                Walk(entry.Children);
            }
        }
    }

    /// <summary>FSM2CFG022, once per affected top-level entry, naming the first node without an enterprise (§3.5).</summary>
    private void CheckEnterprise(IReadOnlyList<WorkerEntry> topLevel)
    {
        foreach (WorkerEntry entry in topLevel)
        {
            if (FirstWithoutEnterprise(entry) is { } missing)
            {
                Error(entry.Line, entry.Column, ConfigCodes.MissingEnterprise, _entryPaths[entry] + ".location",
                    $"merged location of {missing.Path} has no 'enterprise' (set runtime.location.enterprise once for the whole tree)");
                _entriesWithErrors.Add(entry);
            }
        }

        static WorkerEntry? FirstWithoutEnterprise(WorkerEntry entry)
        {
            if (entry.MergedLocation.Enterprise is null)
            {
                return entry;
            }

            foreach (WorkerEntry child in entry.Children)
            {
                if (FirstWithoutEnterprise(child) is { } missing)
                {
                    return missing;
                }
            }

            return null;
        }
    }
}
