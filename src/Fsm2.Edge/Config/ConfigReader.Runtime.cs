using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Config;

internal sealed partial class ConfigReader
{
    private static readonly string[] s_runtimeKeys =
    [
        "id", "profile", "overrides", "broker", "embedded_broker", "mqtt", "topic_prefix", "location", "metrics_interval",
        "heartbeat_interval", "log_level", "log_levels", "fleet",
    ];

    private static readonly string[] s_embeddedKeys = ["bind", "port", "max_pending_messages_per_client"];
    private static readonly string[] s_mqttKeys = ["username", "password_env", "keepalive", "protocol", "tls"];
    private static readonly string[] s_tlsKeys = ["ca_file", "insecure_skip_verify"];
    private static readonly string[] s_fleetKeys = ["name", "global_topic", "wait_for_global"];
    private static readonly string[] s_logLevels = ["trace", "debug", "info", "warning", "error"];
    private static readonly string[] s_levels = ["enterprise", "site", "area", "line", "cell", "workcell"];

    private RuntimeSection ReadRuntime(YNode? node, out HardwareProfile? profile)
    {
        YMap? map = AsMap(node, "runtime");
        var canonical = new Dictionary<string, string>(StringComparer.Ordinal);
        if (map is not null)
        {
            CheckKeys(map, "runtime", s_runtimeKeys);
            foreach (KeyValuePair<YScalar, YNode> entry in map.Entries)
            {
                canonical[entry.Key.Text] = Canonical(entry.Value);
            }
        }

        string id = _options.DefaultRuntimeId;
        if (AsString(map?["id"], "runtime.id") is { } configuredId)
        {
            if (NamePattern().IsMatch(configuredId))
            {
                id = configuredId;
            }
            else
            {
                Error(map!["id"]!, ConfigCodes.InvalidName, "runtime.id", $"'{configuredId}' must match ^[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}$");
            }
        }

        profile = ReadProfile(map);
        BrokerEndpoint broker = ReadBroker(map);

        var section = new RuntimeSection
        {
            Id = id,
            Profile = profile?.SourceFile ?? "",
            Broker = broker,
            TopicPrefix = "fsm2/" + id,
            CanonicalKeys = canonical,
        };
        if (map is null)
        {
            return section;
        }

        if (AsMap(map["embedded_broker"], "runtime.embedded_broker") is { } embedded)
        {
            CheckKeys(embedded, "runtime.embedded_broker", s_embeddedKeys);
            if (AsString(embedded["bind"], "runtime.embedded_broker.bind") is { } bind)
            {
                if (IPAddress.TryParse(bind, out _))
                {
                    section = section with { EmbeddedBind = bind };
                }
                else
                {
                    Error(embedded["bind"]!, ConfigCodes.WrongType, "runtime.embedded_broker.bind", $"expected an IP address, got '{bind}'");
                }
            }

            if (AsInteger(embedded["port"], "runtime.embedded_broker.port", 0, 65_535) is { } port)
            {
                section = section with { EmbeddedPort = (int)port };
            }

            if (AsInteger(embedded["max_pending_messages_per_client"], "runtime.embedded_broker.max_pending_messages_per_client", 1_000, int.MaxValue) is { } pending)
            {
                section = section with { EmbeddedMaxPendingMessagesPerClient = (int)pending };
            }
        }

        if (AsMap(map["mqtt"], "runtime.mqtt") is { } mqtt)
        {
            CheckKeys(mqtt, "runtime.mqtt", s_mqttKeys);
            section = section with
            {
                MqttUsername = AsString(mqtt["username"], "runtime.mqtt.username"),
                MqttPasswordEnv = AsString(mqtt["password_env"], "runtime.mqtt.password_env"),
                MqttKeepalive = AsDuration(mqtt["keepalive"], "runtime.mqtt.keepalive", TimeSpan.FromSeconds(1)) ?? section.MqttKeepalive,
            };
            if (AsString(mqtt["protocol"], "runtime.mqtt.protocol") is { } protocol)
            {
                if (protocol is "5" or "3.1.1")
                {
                    section = section with { MqttProtocol = protocol };
                }
                else
                {
                    Error(mqtt["protocol"]!, ConfigCodes.InvalidEnum, "runtime.mqtt.protocol", $"protocol must be \"5\" or \"3.1.1\", got '{protocol}'");
                }
            }

            if (AsMap(mqtt["tls"], "runtime.mqtt.tls") is { } tls)
            {
                CheckKeys(tls, "runtime.mqtt.tls", s_tlsKeys);
                if (broker.Scheme != "mqtts")
                {
                    Error(tls, ConfigCodes.InvalidBroker, "runtime.mqtt.tls", "tls settings need an mqtts:// broker");
                }

                section = section with
                {
                    MqttTlsCaFile = AsString(tls["ca_file"], "runtime.mqtt.tls.ca_file"),
                    MqttTlsInsecureSkipVerify = AsBool(tls["insecure_skip_verify"], "runtime.mqtt.tls.insecure_skip_verify") ?? false,
                };
            }
        }

        if (AsString(map["topic_prefix"], "runtime.topic_prefix") is { } prefix && CheckTopic(map["topic_prefix"]!, "runtime.topic_prefix", prefix))
        {
            section = section with { TopicPrefix = prefix };
        }

        if (map["location"] is { } locationNode)
        {
            section = section with { Location = ReadLocation(locationNode, "runtime.location") };
        }

        section = section with
        {
            MetricsInterval = AsDuration(map["metrics_interval"], "runtime.metrics_interval", TimeSpan.FromSeconds(1)),
            HeartbeatInterval = AsDuration(map["heartbeat_interval"], "runtime.heartbeat_interval", TimeSpan.FromSeconds(1)),
        };

        if (AsString(map["log_level"], "runtime.log_level") is { } level)
        {
            if (CheckLogLevel(map["log_level"]!, "runtime.log_level", level))
            {
                section = section with { LogLevel = level };
            }
        }

        if (AsMap(map["log_levels"], "runtime.log_levels") is { } levels)
        {
            var perCategory = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<YScalar, YNode> entry in levels.Entries)
            {
                string path = "runtime.log_levels." + entry.Key.Text;
                if (AsString(entry.Value, path) is { } categoryLevel && CheckLogLevel(entry.Value, path, categoryLevel))
                {
                    perCategory[entry.Key.Text] = categoryLevel;
                }
            }

            section = section with { LogLevels = perCategory };
        }

        if (AsMap(map["fleet"], "runtime.fleet") is { } fleet)
        {
            CheckKeys(fleet, "runtime.fleet", s_fleetKeys);
            string? name = AsString(fleet["name"], "runtime.fleet.name");
            if (name is null)
            {
                Error(fleet, ConfigCodes.MissingField, "runtime.fleet.name", "'name' is required");
            }
            else if (!NamePattern().IsMatch(name))
            {
                Error(fleet["name"]!, ConfigCodes.InvalidName, "runtime.fleet.name", $"'{name}' must match ^[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}$");
            }
            else
            {
                string topic = AsString(fleet["global_topic"], "runtime.fleet.global_topic") ?? $"fsm2/fleet/{name}/global";
                if (fleet["global_topic"] is { } topicNode)
                {
                    CheckTopic(topicNode, "runtime.fleet.global_topic", topic);
                }

                TimeSpan wait = AsDuration(fleet["wait_for_global"], "runtime.fleet.wait_for_global") ?? TimeSpan.FromSeconds(5);
                section = section with { Fleet = new FleetSection(name, topic, wait) };
            }
        }

        return section;
    }

    private bool CheckLogLevel(YNode node, string path, string level)
    {
        if (Array.IndexOf(s_logLevels, level) >= 0)
        {
            return true;
        }

        Error(node, ConfigCodes.InvalidEnum, path, $"log level must be one of {string.Join(", ", s_logLevels)}, got '{level}'");
        return false;
    }

    private HardwareProfile? ReadProfile(YMap? runtime)
    {
        YNode? profileNode = runtime?["profile"];
        YNode? overridesNode = runtime?["overrides"];
        string? configured = AsString(profileNode, "runtime.profile");
        string name = _options.ProfileOverride ?? configured ?? _options.DefaultProfile ?? HardwareProfileLoader.DefaultProfileName;

        // A profile named on the command line has no line in this file; one named in the file is reported at its key.
        YNode? anchor = _options.ProfileOverride is null ? profileNode : null;

        JsonObject? overrides = null;
        if (AsMap(overridesNode, "runtime.overrides") is { } overridesMap)
        {
            overrides = (JsonObject)ToJson(overridesMap)!;
        }

        ProfileLoadResult result = HardwareProfileLoader.Load(name, _options.Profiles, overrides, _options.Logger);
        _runtimeFailure |= result.DirectoryUnreadable && !result.Succeeded;
        foreach (ConfigFinding finding in result.Findings)
        {
            // Overridden fields are reported at the overrides key; the rest at the profile key (or without a line).
            bool fromOverrides = overridesNode is not null && finding.Path.Length > 2 && OverrideContains(overridesNode, finding.Path);
            YNode? at = fromOverrides ? overridesNode : anchor;
            string path = fromOverrides ? "runtime.overrides" : "runtime.profile";
            string message = finding.Code == ConfigCodes.UnknownProfile ? finding.Message : $"{finding.File}: {finding.Path}: {finding.Message}";
            _findings.Add(new ConfigFinding(_file, at?.Line ?? 0, at?.Column ?? 0, finding.Severity, finding.Code, path, message));
        }

        return result.Profile;

        static bool OverrideContains(YNode overrides, string jsonPath)
        {
            YNode? node = overrides;
            foreach (string part in jsonPath.TrimStart('$', '.').Split('.'))
            {
                node = (node as YMap)?[part];
                if (node is null)
                {
                    return false;
                }
            }

            return true;
        }
    }

    private static JsonNode? ToJson(YNode node) => node switch
    {
        YMap map => new JsonObject(map.Entries.Select(e => new KeyValuePair<string, JsonNode?>(e.Key.Text, ToJson(e.Value)))),
        YSeq seq => new JsonArray(seq.Items.Select(ToJson).ToArray()),
        YScalar { Value: long l } => JsonValue.Create(l),
        YScalar { Value: double d } => JsonValue.Create(d),
        YScalar { Value: bool b } => JsonValue.Create(b),
        YScalar { Value: string s } => JsonValue.Create(s),
        _ => null,
    };

    private BrokerEndpoint ReadBroker(YMap? runtime)
    {
        YNode? node = runtime?["broker"];
        string? text = _options.BrokerOverride ?? AsString(node, "runtime.broker");
        if (text is null or "embedded")
        {
            return BrokerEndpoint.EmbeddedBroker;
        }

        if (TryParseBroker(text, out BrokerEndpoint? endpoint))
        {
            return endpoint;
        }

        YNode? anchor = _options.BrokerOverride is null ? node : null;
        Error(anchor?.Line ?? 0, anchor?.Column ?? 0, ConfigCodes.InvalidBroker, "runtime.broker",
            $"broker must be 'embedded', mqtt://host:port or mqtts://host:port, got '{text}'");
        return BrokerEndpoint.EmbeddedBroker;
    }

    /// <summary>Parses <c>embedded</c>, <c>mqtt://host[:port]</c> or <c>mqtts://host[:port]</c> (ports 1883 / 8883 by default).</summary>
    internal static bool TryParseBroker(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BrokerEndpoint? endpoint)
    {
        endpoint = null;
        if (text == "embedded")
        {
            endpoint = BrokerEndpoint.EmbeddedBroker;
            return true;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri)
            || uri.Scheme is not ("mqtt" or "mqtts")
            || uri.Host.Length == 0
            || uri.AbsolutePath is not ("" or "/")
            || uri.Query.Length > 0
            || uri.UserInfo.Length > 0)
        {
            return false;
        }

        int port = uri.IsDefaultPort || uri.Port < 0 ? (uri.Scheme == "mqtts" ? 8883 : 1883) : uri.Port;
        if (port is < 1 or > 65_535)
        {
            return false;
        }

        endpoint = new BrokerEndpoint(false, uri.Scheme, uri.Host, port);
        return true;
    }

    /// <summary>FSM2CFG053: no wildcards, no leading <c>$</c> or <c>/</c>, no empty levels.</summary>
    private bool CheckTopic(YNode node, string path, string topic)
    {
        string? problem =
            topic.Length == 0 ? "must not be empty"
            : topic.Contains('+', StringComparison.Ordinal) || topic.Contains('#', StringComparison.Ordinal) ? "must not contain wildcards"
            : topic[0] == '$' ? "must not start with '$'"
            : topic[0] == '/' ? "must not start with '/'"
            : topic.Split('/').Any(static l => l.Length == 0) ? "must not contain empty levels"
            : null;
        if (problem is null)
        {
            return true;
        }

        Error(node, ConfigCodes.InvalidTopic, path, $"{path[(path.LastIndexOf('.') + 1)..]} '{topic}' {problem}");
        return false;
    }

    private IsaLocation ReadLocation(YNode node, string path)
    {
        YMap? map = AsMap(node, path);
        if (map is null)
        {
            return new IsaLocation();
        }

        string?[] values = new string?[5];
        foreach (KeyValuePair<YScalar, YNode> entry in map.Entries)
        {
            string key = entry.Key.Text;
            int index = Array.IndexOf(s_levels, key);
            string levelPath = path + "." + key;
            if (index < 0)
            {
                Error(entry.Key, ConfigCodes.UnknownLevel, levelPath, $"unknown level '{key}'; levels: enterprise, site, area, line, cell (workcell)");
                continue;
            }

            if (index == 5)
            {
                index = 4;
                if (map["cell"] is not null)
                {
                    Error(entry.Key, ConfigCodes.UnknownLevel, levelPath, "levels 'cell' and 'workcell' are both set; 'workcell' is an alias of 'cell', set only one of them");
                    continue;
                }
            }

            if (entry.Value is YScalar { Value: null })
            {
                continue; // an empty level is skipped (§3.5)
            }

            if (entry.Value is not YScalar scalar)
            {
                Error(entry.Value, ConfigCodes.WrongType, levelPath, $"expected a string, got {entry.Value.Kind}");
                continue;
            }

            // A level left empty ('line:' or '~') is unset and skipped; a value given must be non-empty and free of
            // '.', '/', '+', '#', whitespace and control characters (it ends up in topics), by the runtime's rule.
            string value = scalar.Text;
            if (IsaLocation.CheckValue(value) is { } problem)
            {
                Error(scalar, ConfigCodes.InvalidLevelValue, levelPath, value.Length == 0 ? $"location value of '{key}' must not be empty" : problem);
                continue;
            }

            values[index] = value;
        }

        return new IsaLocation(values[0], values[1], values[2], values[3], values[4]);
    }

    private IReadOnlyDictionary<string, object?> ReadGlobal(YNode? node)
    {
        YMap? map = AsMap(node, "global");
        if (map is null)
        {
            return new Dictionary<string, object?>(StringComparer.Ordinal);
        }

        CheckGlobalKeys(map, "global", 1);
        return (IReadOnlyDictionary<string, object?>)ToPlain(map)!;
    }

    /// <summary>§3.3: keys at every depth are Liquid identifiers; nesting at most 8.</summary>
    private void CheckGlobalKeys(YNode node, string path, int depth)
    {
        const int MaxDepth = 8; // §3.3 and §6.6: the fleet payload has the same limit.
        if (depth > MaxDepth)
        {
            Error(node, ConfigCodes.OutOfRange, path, string.Create(CultureInfo.InvariantCulture, $"nesting deeper than {MaxDepth} levels"));
            return;
        }

        switch (node)
        {
            case YMap map:
                foreach (KeyValuePair<YScalar, YNode> entry in map.Entries)
                {
                    string child = path + "." + entry.Key.Text;
                    // The same rule as fleet payloads (GlobalVariables.ParseFleetPayload), so both layers agree.
                    if (!VariableValue.IsGlobalKey(entry.Key.Text))
                    {
                        Error(entry.Key, ConfigCodes.InvalidVariableKey, child, $"global key '{entry.Key.Text}' must match ^[A-Za-z_][A-Za-z0-9_]*$");
                    }

                    CheckGlobalKeys(entry.Value, child, depth + 1);
                }

                break;
            case YSeq seq:
                foreach (YNode item in seq.Items)
                {
                    CheckGlobalKeys(item, path + "[]", depth + 1);
                }

                break;
        }
    }
}
