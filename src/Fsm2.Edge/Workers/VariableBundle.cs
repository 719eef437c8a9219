using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Fsm2.Edge.Templating;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Fsm2.Edge.Workers;

/// <summary>
/// The three read-only variable namespaces handed to derive (20-templating §1): <see cref="User"/> (top level in
/// templates), <see cref="Global"/> (<c>global.*</c>, the runtime's, identical across the tree) and
/// <see cref="Internal"/> (<c>internal.*</c>, runtime-injected, never serialized).
/// </summary>
/// <remarks>
/// Every value is normalised when the bundle is built (<see cref="VariableValue.Normalize"/>): containers are new,
/// ordinal and immutable, so mutating a dictionary after handing it over changes nothing, and nothing a caller owns is
/// reachable from a bundle. A <see cref="ChildSpec"/> therefore normalises its variables when its bundle is built,
/// inside the parent's derive: an unsupported value fails that derive with a <see cref="VariableValueException"/>.
/// </remarks>
public sealed class VariableBundle
{
    private static readonly JsonWriterOptions s_jsonOptions = new()
    {
        // Diagnostics output: keep '+', '&', '<' and non-ASCII text readable; the output is never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>An empty User map with null Global and Internal.</summary>
    public static VariableBundle Empty { get; } = new(null, null, null);

    /// <summary>Creates a bundle from normalised copies of the given maps.</summary>
    /// <param name="user">User variables; <see langword="null"/> becomes an empty map.</param>
    /// <param name="global">Global variables, or <see langword="null"/>.</param>
    /// <param name="internalVariables">Internal variables, or <see langword="null"/>.</param>
    /// <exception cref="VariableValueException">A value cannot be normalised; the message names its path.</exception>
    public VariableBundle(
        IReadOnlyDictionary<string, object?>? user,
        IReadOnlyDictionary<string, object?>? global = null,
        IReadOnlyDictionary<string, object?>? internalVariables = null)
    {
        User = VariableValue.NormalizeMap(user);
        Global = global is null ? null : VariableValue.NormalizeMap(global, "global");
        Internal = internalVariables is null ? null : VariableValue.NormalizeMap(internalVariables, "internal");
    }

    /// <summary>User variables; top level in templates. Never <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, object?> User { get; }

    /// <summary>The runtime's Global variables (<c>global.*</c>); <see langword="null"/> when not set.</summary>
    public IReadOnlyDictionary<string, object?>? Global { get; }

    /// <summary>
    /// Runtime-injected variables (<c>internal.*</c>): <c>id</c>, <c>parent_id</c>, <c>created_at</c> in an injected
    /// spec; <see langword="null"/> elsewhere. Never serialized, never merged.
    /// </summary>
    public IReadOnlyDictionary<string, object?>? Internal { get; }

    /// <summary>
    /// A new ordinal map for templates (§1.4): the User entries minus the reserved names (<c>global</c>,
    /// <c>internal</c>, <c>location</c>, <c>location_path</c>), plus <c>global</c> when Global is not
    /// <see langword="null"/> (even if empty) and <c>internal</c> when Internal is not <see langword="null"/>.
    /// </summary>
    /// <returns>The flattened map.</returns>
    public IReadOnlyDictionary<string, object?> Flatten()
    {
        var flat = new Dictionary<string, object?>(User.Count + 2, StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> pair in User)
        {
            if (!RenderScope.IsReserved(pair.Key))
            {
                flat[pair.Key] = pair.Value;
            }
        }

        if (Global is not null)
        {
            flat["global"] = Global;
        }

        if (Internal is not null)
        {
            flat["internal"] = Internal;
        }

        return flat;
    }

    /// <summary>
    /// Structural equality of <see cref="User"/> and <see cref="Global"/> (ordinal keys, same types and values, list
    /// order significant; a <see langword="null"/> Global equals an empty one). <see cref="Internal"/> never takes part.
    /// </summary>
    /// <param name="other">The bundle to compare with.</param>
    /// <returns><see langword="true"/> when both bundles carry the same User and Global variables.</returns>
    public bool StructurallyEquals(VariableBundle? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        return other is not null
            && VariableValue.StructurallyEqual(User, other.User)
            && VariableValue.StructurallyEqual(Global ?? VariableMap.Empty, other.Global ?? VariableMap.Empty);
    }

    /// <summary>
    /// The parent → child User merge (§1.6): the parent's entries overlaid by the child's, the child winning on equal
    /// keys. The overlay is shallow (a child map replaces the parent's map under the same key); the result is a new
    /// map, never <see langword="null"/>.
    /// </summary>
    /// <param name="parent">The parent's effective User (normalised).</param>
    /// <param name="child">The child's own User (normalised).</param>
    /// <param name="overrides">When given, receives each key where the child replaced a different parent value.</param>
    /// <returns>The merged map.</returns>
    public static IReadOnlyDictionary<string, object?> MergeUser(
        IReadOnlyDictionary<string, object?>? parent,
        IReadOnlyDictionary<string, object?>? child,
        ICollection<VariableOverride>? overrides = null)
    {
        IReadOnlyDictionary<string, object?> p = VariableValue.NormalizeMap(parent);
        IReadOnlyDictionary<string, object?> c = VariableValue.NormalizeMap(child);
        if (c.Count == 0)
        {
            return p;
        }

        if (p.Count == 0)
        {
            return c;
        }

        var merged = new Dictionary<string, object?>(p.Count + c.Count, StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> pair in p)
        {
            merged[pair.Key] = pair.Value;
        }

        foreach (KeyValuePair<string, object?> pair in c)
        {
            if (overrides is not null && p.TryGetValue(pair.Key, out object? previous) && !VariableValue.StructurallyEqual(previous, pair.Value))
            {
                overrides.Add(new VariableOverride(pair.Key, previous, pair.Value));
            }

            merged[pair.Key] = pair.Value;
        }

        return new VariableMap(merged);
    }

    /// <summary>
    /// JSON form (§1.3): <c>{"user": {...}, "global": {...}}</c>; each omitted when null or empty; Internal never
    /// written; keys in ordinal order at every level; doubles in shortest round-trip text; dates as
    /// <c>yyyy-MM-ddTHH:mm:ssZ</c>. An empty bundle is <c>{}</c>.
    /// </summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, s_jsonOptions))
        {
            writer.WriteStartObject();
            if (User.Count > 0)
            {
                writer.WritePropertyName("user");
                WriteJson(writer, User);
            }

            if (Global is { Count: > 0 })
            {
                writer.WritePropertyName("global");
                WriteJson(writer, Global);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    /// <summary>YAML form of <see cref="ToJson"/>: block style, strings double-quoted, an empty bundle is <c>{}</c>.</summary>
    /// <returns>The YAML text.</returns>
    public string ToYaml()
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        bool hasUser = User.Count > 0;
        bool hasGlobal = Global is { Count: > 0 };
        emitter.Emit(new MappingStart(null, null, isImplicit: true, hasUser || hasGlobal ? MappingStyle.Block : MappingStyle.Flow));
        if (hasUser)
        {
            emitter.Emit(new Scalar("user"));
            WriteYaml(emitter, User);
        }

        if (hasGlobal)
        {
            emitter.Emit(new Scalar("global"));
            WriteYaml(emitter, Global!); // hasGlobal checked it.
        }

        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString().TrimEnd();
    }

    /// <summary>
    /// Reads the JSON form. Values are normalised by the JSON rules of §1.2; Internal is <see langword="null"/>; an
    /// <c>internal</c> key is ignored with a warning; other unknown top-level keys are errors.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="warn">Receives warnings (the ignored <c>internal</c> key).</param>
    /// <returns>The bundle.</returns>
    /// <exception cref="VariableValueException">The text is not a JSON object of the expected shape, or a value is invalid.</exception>
    public static VariableBundle FromJson(string json, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new VariableValueException("", "variables: invalid JSON: " + ex.Message, ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new VariableValueException("", "variables: expected a JSON object with 'user' and 'global'", null);
            }

            IReadOnlyDictionary<string, object?>? user = null;
            IReadOnlyDictionary<string, object?>? global = null;
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "user":
                        user = AsMap(VariableValue.FromJson(property.Value, ""), "user");
                        break;
                    case "global":
                        global = AsMap(VariableValue.FromJson(property.Value, "global"), "global");
                        break;
                    case "internal":
                        warn?.Invoke("variables: the 'internal' key is ignored; internal variables are set by the runtime only");
                        break;
                    default:
                        throw UnknownKey(property.Name);
                }
            }

            return new VariableBundle(user, global);
        }
    }

    /// <summary>
    /// Reads the YAML form. Plain scalars follow the YAML 1.2 core schema (<see cref="VariableValue.FromPlainYamlScalar"/>);
    /// quoted scalars are strings. Internal is <see langword="null"/>; an <c>internal</c> key is ignored with a warning.
    /// </summary>
    /// <param name="yaml">The YAML text.</param>
    /// <param name="warn">Receives warnings (the ignored <c>internal</c> key).</param>
    /// <returns>The bundle.</returns>
    /// <exception cref="VariableValueException">The text is not a YAML mapping of the expected shape, or a value is invalid.</exception>
    public static VariableBundle FromYaml(string yaml, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new VariableValueException("", $"variables: invalid YAML at line {ex.Start.Line}: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0)
        {
            return Empty;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new VariableValueException("", "variables: expected a YAML mapping with 'user' and 'global'", null);
        }

        IReadOnlyDictionary<string, object?>? user = null;
        IReadOnlyDictionary<string, object?>? global = null;
        foreach (KeyValuePair<YamlNode, YamlNode> entry in root.Children)
        {
            string key = ((YamlScalarNode)entry.Key).Value ?? "";
            switch (key)
            {
                case "user":
                    user = AsMap(FromYamlNode(entry.Value, "", 0), "user");
                    break;
                case "global":
                    global = AsMap(FromYamlNode(entry.Value, "global", 0), "global");
                    break;
                case "internal":
                    warn?.Invoke("variables: the 'internal' key is ignored; internal variables are set by the runtime only");
                    break;
                default:
                    throw UnknownKey(key);
            }
        }

        return new VariableBundle(user, global);
    }

    /// <summary>Converts a YAML node by the rules of §1.2 (YAML 1.2 core schema for plain scalars).</summary>
    /// <param name="node">The node.</param>
    /// <param name="path">The variable path for errors.</param>
    /// <returns>The normalised value.</returns>
    /// <exception cref="VariableValueException">A value is invalid (<c>.nan</c>, nesting too deep).</exception>
    public static object? FromYamlNode(YamlNode node, string path) => FromYamlNode(node, path ?? "", 0);

    private static object? FromYamlNode(YamlNode node, string path, int depth)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                return scalar.Style == ScalarStyle.Plain ? VariableValue.FromPlainYamlScalar(scalar.Value ?? "", path) : scalar.Value ?? "";
            case YamlMappingNode mapping:
            {
                CheckDepth(path, depth);
                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (KeyValuePair<YamlNode, YamlNode> entry in mapping.Children)
                {
                    string key = (entry.Key as YamlScalarNode)?.Value
                        ?? throw new VariableValueException(path, $"variable '{path}' has a non-scalar key (line {entry.Key.Start.Line})", null);
                    map[key] = FromYamlNode(entry.Value, VariableValue.MemberPath(path, key), depth + 1);
                }

                return VariableValue.Normalize(map, path);
            }

            case YamlSequenceNode sequence:
            {
                CheckDepth(path, depth);
                var items = new List<object?>(sequence.Children.Count);
                foreach (YamlNode item in sequence.Children)
                {
                    items.Add(FromYamlNode(item, path + "[" + items.Count.ToString(CultureInfo.InvariantCulture) + "]", depth + 1));
                }

                return VariableValue.Normalize(items, path);
            }

            default:
                throw new VariableValueException(path, $"variable '{path}' uses an unsupported YAML node (line {node.Start.Line})", null);
        }
    }

    private static void CheckDepth(string path, int depth)
    {
        if (depth >= VariableValue.MaxDepth)
        {
            throw new VariableValueException(path, $"variable '{path}' nests deeper than {VariableValue.MaxDepth} containers", null);
        }
    }

    private static IReadOnlyDictionary<string, object?>? AsMap(object? value, string key) => value switch
    {
        null => null,
        IReadOnlyDictionary<string, object?> map => map,
        _ => throw new VariableValueException(key, $"variables: '{key}' must be a mapping", null),
    };

    private static VariableValueException UnknownKey(string key)
        => new(key, $"variables: unknown top-level key '{key}'; expected 'user' or 'global'", null);

    private static string[] SortedKeys(IReadOnlyDictionary<string, object?> map)
    {
        var keys = new string[map.Count];
        int i = 0;
        foreach (string key in map.Keys)
        {
            keys[i++] = key;
        }

        Array.Sort(keys, StringComparer.Ordinal);
        return keys;
    }

    private static void WriteJson(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case decimal m:
                writer.WriteNumberValue(m);
                break;
            case double d:
                writer.WriteNumberValue(d);
                break;
            case DateTimeOffset at:
                writer.WriteStringValue(VariableValue.FormatDate(at));
                break;
            case IReadOnlyDictionary<string, object?> map:
                writer.WriteStartObject();
                foreach (string key in SortedKeys(map))
                {
                    writer.WritePropertyName(key);
                    WriteJson(writer, map[key]);
                }

                writer.WriteEndObject();
                break;
            case IReadOnlyList<object?> list:
                writer.WriteStartArray();
                foreach (object? item in list)
                {
                    WriteJson(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteYaml(IEmitter emitter, object? value)
    {
        switch (value)
        {
            case null:
                emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
            case string s:
                emitter.Emit(new Scalar(null, null, s, ScalarStyle.DoubleQuoted, false, true));
                break;
            case bool b:
                emitter.Emit(new Scalar(null, null, b ? "true" : "false", ScalarStyle.Plain, true, false));
                break;
            case long or decimal:
                emitter.Emit(new Scalar(null, null, ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture), ScalarStyle.Plain, true, false));
                break;
            case double d:
                emitter.Emit(new Scalar(null, null, d.ToString("R", CultureInfo.InvariantCulture), ScalarStyle.Plain, true, false));
                break;
            case DateTimeOffset at:
                emitter.Emit(new Scalar(null, null, VariableValue.FormatDate(at), ScalarStyle.DoubleQuoted, false, true));
                break;
            case IReadOnlyDictionary<string, object?> map:
                emitter.Emit(new MappingStart(null, null, true, map.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (string key in SortedKeys(map))
                {
                    emitter.Emit(new Scalar(null, null, key, VariableValue.IsIdentifier(key) ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted, true, true));
                    WriteYaml(emitter, map[key]);
                }

                emitter.Emit(new MappingEnd());
                break;
            case IReadOnlyList<object?> list:
                emitter.Emit(new SequenceStart(null, null, true, list.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (object? item in list)
                {
                    WriteYaml(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            default:
                emitter.Emit(new Scalar(null, null, Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", ScalarStyle.DoubleQuoted, false, true));
                break;
        }
    }
}

/// <summary>A User key where a child's value replaced a different parent value during the merge (20-templating §1.6).</summary>
/// <param name="Key">The key.</param>
/// <param name="ParentValue">The parent's value.</param>
/// <param name="ChildValue">The child's value, which wins.</param>
public readonly record struct VariableOverride(string Key, object? ParentValue, object? ChildValue);
