using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Config;

/// <summary>
/// One validation pass over one file: holds the findings and the source lines; split into aspects
/// (<c>.Runtime</c>, <c>.Workers</c>, <c>.Templates</c>, <c>.DryDerive</c>). Not thread-safe; one instance per load.
/// </summary>
internal sealed partial class ConfigReader
{
    /// <summary>The <c>runtime:</c> keys that take effect only at start (§3.2 "restart").</summary>
    internal static readonly string[] RestartOnlyRuntimeKeys =
        ["broker", "embedded_broker", "fleet", "id", "mqtt", "overrides", "profile", "topic_prefix"];

    private static readonly string[] s_topLevelKeys = ["version", "runtime", "global", "workers"];

    private readonly string _file;
    private readonly byte[] _bytes;
    private readonly string _text;
    private readonly string[] _lines;
    private readonly ConfigLoadOptions _options;
    private readonly List<ConfigFinding> _findings = [];
    private readonly LiquidRenderer _renderer;
    private bool _runtimeFailure;
    private bool _fleetMode;

    // The runtime section's broker and profile, read before the workers: an mqtt probe's default target and the
    // probe interval/timeout an entry leaves to the profile.
    private BrokerEndpoint _runtimeBroker = BrokerEndpoint.EmbeddedBroker;
    private HardwareProfile? _profile;

    public ConfigReader(string file, byte[] bytes, ConfigLoadOptions options)
    {
        _file = file;
        _bytes = bytes;
        _text = Encoding.UTF8.GetString(bytes);
        _lines = _text.Split('\n');
        _options = options;
        _renderer = options.Renderer ?? LiquidRenderer.Shared;
    }

    public ConfigLoadResult Read()
    {
        YNode? root = YamlTreeReader.Read(_text, (line, column, code, path, message) => Error(line, column, code, path, message));
        if (_findings.Count > 0 && root is null)
        {
            return Result(null);
        }

        if (root is null || (root is YScalar { Value: null }))
        {
            Error(1, 1, ConfigCodes.MissingField, "workers", "'workers' is required (use 'workers: []' for an empty runtime)");
            return Result(null);
        }

        if (root is not YMap map)
        {
            Error(root, ConfigCodes.WrongType, "", $"the file must be a mapping with 'workers:', got {root.Kind}");
            return Result(null);
        }

        CheckKeys(map, "", s_topLevelKeys);
        if (map["version"] is { } version && !(version is YScalar { Value: 1L }))
        {
            Error(version, ConfigCodes.InvalidEnum, "version", $"only version 1 is supported, got {Describe(version)}");
        }

        RuntimeSection runtime = ReadRuntime(map["runtime"], out HardwareProfile? profile);
        _fleetMode = runtime.Fleet is not null;
        _runtimeBroker = runtime.Broker;
        _profile = profile;
        IReadOnlyDictionary<string, object?> global = ReadGlobal(map["global"]);

        IReadOnlyList<WorkerEntry> workers = [];
        if (map["workers"] is not { } workersNode)
        {
            Error(map, ConfigCodes.MissingField, "workers", "'workers' is required (use 'workers: []' for an empty runtime)");
        }
        else if (workersNode is YScalar { Value: null })
        {
            workers = [];
        }
        else if (workersNode is not YSeq seq)
        {
            Error(workersNode, ConfigCodes.WrongType, "workers", $"expected a list of worker entries, got {workersNode.Kind}");
        }
        else
        {
            int maxDepth = profile?.Supervision.MaxDepth ?? 10;
            workers = ReadEntries(seq, "workers", "", 1, maxDepth, parentType: null, runtime.Location);
            CheckProbeIds(workers);
            CheckEnterprise(workers);
            DryDerive(workers, runtime, global);
        }

        if (_findings.Any(static f => f.IsError) || profile is null)
        {
            return Result(null);
        }

        string canonical = Canonical(map);
        var config = new EdgeConfig(
            _file, "fnv1a64:" + Fnv1a64(_bytes), "fnv1a64:" + Fnv1a64(Encoding.UTF8.GetBytes(canonical)), runtime, global, workers, profile,
            ConfigFinding.Sort(_findings), _derivedNodes);
        return Result(config);
    }

    private ConfigLoadResult Result(EdgeConfig? config) => new(config, ConfigFinding.Sort(_findings), _runtimeFailure);

    // ---- reporting ------------------------------------------------------------------------------------------------

    private void Error(YNode at, int code, string path, string message) => Error(at.Line, at.Column, code, path, message);

    private void Error(int line, int column, int code, string path, string message)
        => _findings.Add(new ConfigFinding(_file, line, column, FindingSeverity.Error, code, path, message));

    private void Warning(YNode at, int code, string path, string message)
        => _findings.Add(new ConfigFinding(_file, at.Line, at.Column, FindingSeverity.Warning, code, path, message));

    private static string Describe(YNode node) => node is YScalar scalar ? scalar.Describe() : node.Kind;

    // ---- schema helpers --------------------------------------------------------------------------------------------

    /// <summary>Reports every key of <paramref name="map"/> that is not in <paramref name="allowed"/> (FSM2CFG004).</summary>
    private void CheckKeys(YMap map, string path, string[] allowed)
    {
        foreach (KeyValuePair<YScalar, YNode> entry in map.Entries)
        {
            if (Array.IndexOf(allowed, entry.Key.Text) >= 0)
            {
                continue;
            }

            string? suggestion = Suggest(entry.Key.Text, allowed);
            string hint = suggestion is null ? $"; allowed: {string.Join(", ", allowed)}" : $"; did you mean '{suggestion}'?";
            Error(entry.Key, ConfigCodes.UnknownKey, YamlTreeReader.Join(path, entry.Key.Text), $"unknown key '{entry.Key.Text}'{hint}");
        }
    }

    /// <summary>The closest allowed key within an edit distance of 2 (transpositions count 1), or <see langword="null"/>.</summary>
    private static string? Suggest(string key, string[] allowed)
    {
        string? best = null;
        int bestDistance = 3;
        foreach (string candidate in allowed)
        {
            int d = Distance(key, candidate);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }

        return best;

        static int Distance(string a, string b)
        {
            // Optimal string alignment distance: Levenshtein plus adjacent transpositions ('loaction' → 'location' is 1).
            var d = new int[a.Length + 1, b.Length + 1];
            for (int i = 0; i <= a.Length; i++)
            {
                d[i, 0] = i;
            }

            for (int j = 0; j <= b.Length; j++)
            {
                d[0, j] = j;
            }

            for (int i = 1; i <= a.Length; i++)
            {
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                    if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    {
                        d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                    }
                }
            }

            return d[a.Length, b.Length];
        }
    }

    private YMap? AsMap(YNode? node, string path)
    {
        if (node is null or YScalar { Value: null })
        {
            return null;
        }

        if (node is YMap map)
        {
            return map;
        }

        Error(node, ConfigCodes.WrongType, path, $"expected a mapping, got {Describe(node)}");
        return null;
    }

    private string? AsString(YNode? node, string path)
    {
        switch (node)
        {
            case null or YScalar { Value: null }:
                return null;
            case YScalar { Value: string s }:
                return s;
            case YScalar scalar:
                // A number or boolean where text is expected is accepted as its text (e.g. 'line: 4', 'protocol: 5').
                return scalar.Text;
            default:
                Error(node, ConfigCodes.WrongType, path, $"expected a string, got {node.Kind}");
                return null;
        }
    }

    private long? AsInteger(YNode? node, string path, long min, long max)
    {
        if (node is null or YScalar { Value: null })
        {
            return null;
        }

        if (node is not YScalar { Value: long value })
        {
            Error(node, ConfigCodes.WrongType, path, string.Create(CultureInfo.InvariantCulture, $"expected integer {min}-{max}, got {Describe(node)}"));
            return null;
        }

        if (value < min || value > max)
        {
            Error(node, ConfigCodes.OutOfRange, path, string.Create(CultureInfo.InvariantCulture, $"{value} is out of range {min}-{max}"));
            return null;
        }

        return value;
    }

    private bool? AsBool(YNode? node, string path)
    {
        if (node is null or YScalar { Value: null })
        {
            return null;
        }

        if (node is YScalar { Value: bool value })
        {
            return value;
        }

        Error(node, ConfigCodes.WrongType, path, $"expected true or false, got {Describe(node)}");
        return null;
    }

    private TimeSpan? AsDuration(YNode? node, string path, TimeSpan? minimum = null)
    {
        if (node is null or YScalar { Value: null })
        {
            return null;
        }

        if (node is not YScalar scalar || !DurationParser.TryParse(scalar.Text, out TimeSpan value))
        {
            Error(node, ConfigCodes.InvalidDuration, path, $"'{(node as YScalar)?.Text ?? node.Kind}' is not a duration (use e.g. 10s, 500ms, 1m30s)");
            return null;
        }

        if (minimum is { } min && value < min)
        {
            Error(node, ConfigCodes.OutOfRange, path,
                $"{path[(path.LastIndexOf('.') + 1)..]} {scalar.Text} is below the minimum {DurationParser.Format(min)}");
            return null;
        }

        return value;
    }

    /// <summary>Converts a node to plain values: maps → read-only dictionaries, lists → arrays, scalars → their value.</summary>
    private static object? ToPlain(YNode node) => node switch
    {
        YScalar scalar => scalar.Value,
        YSeq seq => seq.Items.Select(ToPlain).ToArray(),
        YMap map => (IReadOnlyDictionary<string, object?>)map.Entries.ToDictionary(e => e.Key.Text, e => ToPlain(e.Value), StringComparer.Ordinal),
        _ => null,
    };

    // ---- canonical form and hashing --------------------------------------------------------------------------------

    /// <summary>
    /// A text that is equal for two documents exactly when they mean the same thing: comments, whitespace, key order,
    /// quoting and scalar spelling (<c>1.0</c> vs <c>1.00</c>) do not take part; list order does.
    /// </summary>
    internal static string Canonical(YNode node)
    {
        var text = new StringBuilder();
        Append(text, node);
        return text.ToString();

        static void Append(StringBuilder text, YNode node)
        {
            switch (node)
            {
                case YScalar scalar:
                    text.Append(scalar.Kind[0]).Append(':');
                    string value = scalar.Value switch
                    {
                        null => "",
                        double d => d.ToString("R", CultureInfo.InvariantCulture),
                        long l => l.ToString(CultureInfo.InvariantCulture),
                        bool b => b ? "true" : "false",
                        _ => scalar.Text,
                    };
                    text.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
                    break;
                case YSeq seq:
                    text.Append('[');
                    foreach (YNode item in seq.Items)
                    {
                        Append(text, item);
                        text.Append(',');
                    }

                    text.Append(']');
                    break;
                case YMap map:
                    text.Append('{');
                    foreach (KeyValuePair<YScalar, YNode> entry in map.Entries.OrderBy(static e => e.Key.Text, StringComparer.Ordinal))
                    {
                        text.Append(entry.Key.Text.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(entry.Key.Text).Append('=');
                        Append(text, entry.Value);
                        text.Append(';');
                    }

                    text.Append('}');
                    break;
            }
        }
    }

    /// <summary>
    /// FNV-1a, 64 bit: a non-cryptographic fingerprint, so the start-up path needs no libssl (80-toolchain §9).
    /// </summary>
    internal static string Fnv1a64(ReadOnlySpan<byte> data)
    {
        ulong hash = 14695981039346656037UL; // FNV-1a 64-bit offset basis (the published constant).
        foreach (byte b in data)
        {
            hash ^= b;
            hash *= 1099511628211UL; // FNV-1a 64-bit prime.
        }

        return hash.ToString("x16", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex ProbeIdPattern();
}
