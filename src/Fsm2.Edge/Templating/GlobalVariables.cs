using System.Text.Json;

namespace Fsm2.Edge.Templating;

/// <summary>
/// The runtime's Global variables (20-templating §1.7): the config <c>global:</c> layer, the fleet layer from the
/// retained fleet topic, and their deep merge.
/// </summary>
public static class GlobalVariables
{
    /// <summary>The largest fleet payload accepted (50-runtime-monitoring §6.6).</summary>
    public const int MaxFleetPayloadBytes = 64 * 1024;

    /// <summary>The deepest nesting of fleet <c>variables</c> (50-runtime-monitoring §6.6).</summary>
    public const int MaxFleetDepth = 8;

    /// <summary>
    /// Effective Global = <paramref name="config"/> deep-merged with <paramref name="fleet"/>, the fleet winning per
    /// leaf; maps merge key by key, lists and scalars replace, and a fleet <see langword="null"/> leaf stays null.
    /// </summary>
    /// <param name="config">The config file layer (normalised).</param>
    /// <param name="fleet">The fleet layer (normalised), or <see langword="null"/> when there is none.</param>
    /// <returns>The effective Global map.</returns>
    public static IReadOnlyDictionary<string, object?> Merge(IReadOnlyDictionary<string, object?>? config, IReadOnlyDictionary<string, object?>? fleet)
    {
        IReadOnlyDictionary<string, object?> c = VariableValue.NormalizeMap(config, "global");
        if (fleet is null || fleet.Count == 0)
        {
            return c;
        }

        IReadOnlyDictionary<string, object?> f = VariableValue.NormalizeMap(fleet, "global");
        return c.Count == 0 ? f : MergeMaps(c, f);
    }

    /// <summary>
    /// Parses a fleet topic payload (50-runtime-monitoring §6.6):
    /// <c>{"version":12,"variables":{...},"publishedBy":"ops"}</c>. <c>variables</c> is required, with identifier
    /// keys, nesting ≤ 8 and a payload ≤ 64 KiB. A zero-length payload clears the fleet layer (returns
    /// <see langword="null"/>).
    /// </summary>
    /// <param name="payload">The raw payload.</param>
    /// <param name="version">The informative <c>version</c> field, or <c>""</c>.</param>
    /// <returns>The normalised fleet layer, or <see langword="null"/> to clear it.</returns>
    /// <exception cref="VariableValueException">The payload is invalid; the message says why.</exception>
    public static IReadOnlyDictionary<string, object?>? ParseFleetPayload(ReadOnlySpan<byte> payload, out string version)
    {
        version = "";
        if (payload.IsEmpty)
        {
            return null;
        }

        if (payload.Length > MaxFleetPayloadBytes)
        {
            throw Invalid($"payload of {payload.Length} bytes exceeds {MaxFleetPayloadBytes}");
        }

        JsonElement root;
        try
        {
            var reader = new Utf8JsonReader(payload);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw Invalid("invalid JSON: " + ex.Message);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"expected a JSON object, got {root.ValueKind.ToString().ToLowerInvariant()}");
        }

        if (root.TryGetProperty("version", out JsonElement v))
        {
            version = v.ToString();
        }

        if (!root.TryGetProperty("variables", out JsonElement variables) || variables.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("'variables' is required and must be an object");
        }

        CheckKeys(variables, "", 1);
        return (IReadOnlyDictionary<string, object?>)VariableValue.FromJson(variables, "global")!; // an object converts to a map.
    }

    private static void CheckKeys(JsonElement element, string path, int depth)
    {
        if (depth > MaxFleetDepth)
        {
            throw Invalid($"'{path}' nests deeper than {MaxFleetDepth} levels");
        }

        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty property in element.EnumerateObject())
            {
                if (!VariableValue.IsGlobalKey(property.Name))
                {
                    string at = path.Length == 0 ? "" : $" (in global.{path})";
                    throw Invalid($"key '{property.Name}'{at} is not an identifier (^[A-Za-z_][A-Za-z0-9_]*$)");
                }

                CheckKeys(property.Value, VariableValue.MemberPath(path, property.Name), depth + 1);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in element.EnumerateArray())
            {
                CheckKeys(item, path + "[]", depth + 1);
            }
        }
    }

    private static VariableValueException Invalid(string reason) => new("global", "fleet variables rejected: " + reason, null);

    private static VariableMap MergeMaps(IReadOnlyDictionary<string, object?> config, IReadOnlyDictionary<string, object?> fleet)
    {
        var merged = new Dictionary<string, object?>(config.Count + fleet.Count, StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> pair in config)
        {
            merged[pair.Key] = pair.Value;
        }

        foreach (KeyValuePair<string, object?> pair in fleet)
        {
            merged[pair.Key] = merged.TryGetValue(pair.Key, out object? existing)
                && existing is IReadOnlyDictionary<string, object?> a && pair.Value is IReadOnlyDictionary<string, object?> b
                ? MergeMaps(a, b)
                : pair.Value;
        }

        return new VariableMap(merged);
    }
}
