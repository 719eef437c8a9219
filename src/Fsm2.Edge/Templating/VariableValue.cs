using System.Collections;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fsm2.Edge.Templating;

/// <summary>
/// The value model of variables (20-templating §1.2). After <see cref="Normalize"/> a value is exactly one of:
/// <see langword="null"/>, <see cref="string"/>, <see cref="bool"/>, <see cref="long"/>, <see cref="decimal"/>, a finite
/// <see cref="double"/>, a UTC <see cref="DateTimeOffset"/>, a map (<see cref="IReadOnlyDictionary{TKey, TValue}"/>
/// with ordinal keys) or a list (<see cref="IReadOnlyList{T}"/>).
/// </summary>
/// <remarks>
/// Normalisation always builds new containers, so nothing a caller owns is reachable from the result; the containers
/// it builds are immutable and are returned as they are when normalised again.
/// </remarks>
public static class VariableValue
{
    /// <summary>The deepest container nesting accepted.</summary>
    public const int MaxDepth = 32;

    /// <summary>Normalises one value entering from outside (config, fleet payload, <c>ChildSpec</c> variables).</summary>
    /// <param name="value">The value.</param>
    /// <param name="path">The variable path used in error messages (<c>poll.timeout</c>).</param>
    /// <returns>The normalised value.</returns>
    /// <exception cref="VariableValueException">The value, or one nested in it, is not supported.</exception>
    public static object? Normalize(object? value, string path) => NormalizeCore(value, path ?? "", 0);

    /// <summary>Normalises a map of variables into a new immutable ordinal map; <see langword="null"/> gives an empty map.</summary>
    /// <param name="variables">The variables.</param>
    /// <param name="path">The path prefix of the map (<c>""</c> at top level).</param>
    /// <returns>The normalised map.</returns>
    /// <exception cref="VariableValueException">A value is not supported.</exception>
    public static IReadOnlyDictionary<string, object?> NormalizeMap(IReadOnlyDictionary<string, object?>? variables, string path = "")
    {
        if (variables is null || variables.Count == 0)
        {
            return VariableMap.Empty;
        }

        return (IReadOnlyDictionary<string, object?>)NormalizeCore(variables, path ?? "", 0)!; // a map normalises to a map.
    }

    /// <summary>
    /// Structural equality (20-templating §1.9): ordinal key sets, same type and value (<c>long 502</c> ≠
    /// <c>double 502.0</c>), list order significant.
    /// </summary>
    /// <param name="a">A normalised value.</param>
    /// <param name="b">Another normalised value.</param>
    /// <returns><see langword="true"/> when both are structurally equal.</returns>
    public static bool StructurallyEqual(object? a, object? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null)
        {
            return false;
        }

        if (a is IReadOnlyDictionary<string, object?> ma)
        {
            if (b is not IReadOnlyDictionary<string, object?> mb || ma.Count != mb.Count)
            {
                return false;
            }

            foreach (KeyValuePair<string, object?> pair in ma)
            {
                if (!mb.TryGetValue(pair.Key, out object? other) || !StructurallyEqual(pair.Value, other))
                {
                    return false;
                }
            }

            return true;
        }

        if (a is IReadOnlyList<object?> la)
        {
            if (b is not IReadOnlyList<object?> lb || la.Count != lb.Count)
            {
                return false;
            }

            for (int i = 0; i < la.Count; i++)
            {
                if (!StructurallyEqual(la[i], lb[i]))
                {
                    return false;
                }
            }

            return true;
        }

        if (a is string sa)
        {
            return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
        }

        return a.GetType() == b.GetType() && a.Equals(b);
    }

    /// <summary>
    /// The path of member <paramref name="key"/> of the map at <paramref name="parent"/>: <c>parent.key</c>, or
    /// <c>parent['key']</c> when the key is not an identifier (<c>[A-Za-z_][A-Za-z0-9_-]*</c>).
    /// </summary>
    /// <param name="parent">The map's path; <c>""</c> at top level.</param>
    /// <param name="key">The key.</param>
    /// <returns>The member path.</returns>
    public static string MemberPath(string parent, string key)
    {
        if (IsIdentifier(key))
        {
            return parent.Length == 0 ? key : parent + "." + key;
        }

        return parent + "['" + key + "']";
    }

    /// <summary>Whether <paramref name="key"/> matches <c>[A-Za-z_][A-Za-z0-9_-]*</c>, i.e. is reachable as a bare name.</summary>
    /// <param name="key">The key.</param>
    /// <returns><see langword="true"/> for an identifier.</returns>
    public static bool IsIdentifier(string key)
    {
        if (string.IsNullOrEmpty(key) || !(char.IsAsciiLetter(key[0]) || key[0] == '_'))
        {
            return false;
        }

        foreach (char c in key.AsSpan(1))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="key"/> is a valid Global variable key (50-runtime-monitoring §3.3, §6.6): a strict Liquid
    /// identifier <c>^[A-Za-z_][A-Za-z0-9_]*$</c>, at every depth. Stricter than <see cref="IsIdentifier"/>, the rule of
    /// User variable names, which also accepts <c>-</c>: Global keys come from the config file and from the fleet topic
    /// of other gateways, and one rule for both keeps <c>bad-key</c> out of either layer.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <returns><see langword="true"/> when the key may be used in the <c>global:</c> section or a fleet payload.</returns>
    public static bool IsGlobalKey(string key)
    {
        if (string.IsNullOrEmpty(key) || !(char.IsAsciiLetter(key[0]) || key[0] == '_'))
        {
            return false;
        }

        foreach (char c in key.AsSpan(1))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Resolves a plain (unquoted) YAML scalar by the YAML 1.2 core schema: <c>null</c>/<c>~</c>/empty → null,
    /// <c>true</c>/<c>false</c> → bool, integers → <see cref="long"/>, floats → <see cref="double"/>; everything else,
    /// <c>yes</c> and <c>on</c> included, stays a string. Quoted scalars are strings and never reach this method.
    /// </summary>
    /// <param name="text">The scalar text.</param>
    /// <param name="path">The variable path for errors.</param>
    /// <returns>The typed value.</returns>
    /// <exception cref="VariableValueException">The scalar is <c>.inf</c> or <c>.nan</c>.</exception>
    public static object? FromPlainYamlScalar(string text, string path)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            case ".nan" or ".NaN" or ".NAN":
                throw NotFinite(path, "NaN");
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                throw NotFinite(path, "Infinity");
            case "-.inf" or "-.Inf" or "-.INF":
                throw NotFinite(path, "-Infinity");
        }

        if (IsYamlInteger(text))
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
            {
                return l;
            }

            return decimal.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out decimal big) ? TrimDecimal(big) : text;
        }

        if (text.StartsWith("0x", StringComparison.Ordinal) && text.Length > 2
            && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long hex) && hex >= 0)
        {
            return hex;
        }

        if (text.StartsWith("0o", StringComparison.Ordinal) && text.Length > 2 && IsOctal(text.AsSpan(2)))
        {
            try
            {
                return Convert.ToInt64(text[2..], 8);
            }
            catch (OverflowException)
            {
                return text;
            }
        }

        if (IsYamlFloat(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d))
        {
            return d;
        }

        return text;
    }

    /// <summary>Converts a <see cref="JsonElement"/> by the JSON rules of §1.2.</summary>
    /// <param name="element">The element.</param>
    /// <param name="path">The variable path for errors.</param>
    /// <returns>The normalised value.</returns>
    /// <exception cref="VariableValueException">Nesting is deeper than <see cref="MaxDepth"/>.</exception>
    public static object? FromJson(JsonElement element, string path) => FromJsonCore(element, path ?? "", 0);

    internal static string FormatDate(DateTimeOffset value)
        => value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    internal static string TypeName(object value) => value.GetType().Name;

    internal static VariableValueException Unsupported(string path, object value)
        => new(path, $"variable '{Display(path)}' has unsupported type {TypeName(value)}; pass a number or string", null);

    internal static VariableValueException NotFinite(string path, string what)
        => new(path, $"variable '{Display(path)}' is not a finite number ({what})", null);

    internal static string NonFiniteName(double d) => double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";

    private static string Display(string path) => path.Length == 0 ? "(value)" : path;

    private static object? NormalizeCore(object? value, string path, int depth)
    {
        switch (value)
        {
            case null:
            case string:
            case bool:
            case long:
            case VariableMap:
            case VariableList:
                return value;
            case int i:
                return (long)i;
            case short s:
                return (long)s;
            case sbyte sb:
                return (long)sb;
            case byte b:
                return (long)b;
            case ushort us:
                return (long)us;
            case uint ui:
                return (long)ui;
            case nint ni:
                return (long)ni;
            case nuint nu:
                return nu <= long.MaxValue ? (long)nu : (decimal)nu;
            case ulong ul:
                return ul <= long.MaxValue ? (long)ul : (decimal)ul;
            case float f:
                if (!float.IsFinite(f))
                {
                    throw NotFinite(path, NonFiniteName(f));
                }

                // The shortest text of the float, so 0.1f is 0.1 and not 0.100000001490116.
                return double.Parse(f.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);
            case double d:
                return double.IsFinite(d) ? d : throw NotFinite(path, NonFiniteName(d));
            case decimal m:
                return TrimDecimal(m);
            case DateTimeOffset dto:
                return dto.ToUniversalTime();
            case DateTime dt:
                return dt.Kind == DateTimeKind.Local
                    ? new DateTimeOffset(dt.ToUniversalTime(), TimeSpan.Zero)
                    : new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc), TimeSpan.Zero);
            case Guid g:
                return g.ToString("D", CultureInfo.InvariantCulture);
            case char c:
                return c.ToString();
            case Uri uri:
                return uri.OriginalString;
            case Enum e:
                return e.ToString();
            case JsonElement element:
                return FromJsonCore(element, path, depth);
            case JsonNode node:
                return FromJsonNode(node, path, depth);
            case byte[]:
            case TimeSpan:
                throw Unsupported(path, value);
        }

        if (depth >= MaxDepth)
        {
            throw TooDeep(path);
        }

        if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, object?> pair in pairs)
            {
                map[pair.Key] = NormalizeCore(pair.Value, MemberPath(path, pair.Key), depth + 1);
            }

            return new VariableMap(map);
        }

        if (value is IDictionary dictionary)
        {
            var map = new Dictionary<string, object?>(dictionary.Count, StringComparer.Ordinal);
            foreach (DictionaryEntry entry in dictionary)
            {
                if (entry.Key is not string key)
                {
                    throw new VariableValueException(path, $"variable '{Display(path)}' has a key of type {entry.Key.GetType().Name}; map keys must be strings", null);
                }

                map[key] = NormalizeCore(entry.Value, MemberPath(path, key), depth + 1);
            }

            return new VariableMap(map);
        }

        if (value is IEnumerable list)
        {
            var items = new List<object?>();
            foreach (object? item in list)
            {
                items.Add(NormalizeCore(item, path + "[" + items.Count.ToString(CultureInfo.InvariantCulture) + "]", depth + 1));
            }

            return new VariableList(items);
        }

        throw Unsupported(path, value);
    }

    private static VariableValueException TooDeep(string path)
        => new(path, $"variable '{Display(path)}' nests deeper than {MaxDepth} containers", null);

    private static object? FromJsonCore(JsonElement element, string path, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
            {
                if (depth >= MaxDepth)
                {
                    throw TooDeep(path);
                }

                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    map[property.Name] = FromJsonCore(property.Value, MemberPath(path, property.Name), depth + 1);
                }

                return new VariableMap(map);
            }

            case JsonValueKind.Array:
            {
                if (depth >= MaxDepth)
                {
                    throw TooDeep(path);
                }

                var items = new List<object?>();
                foreach (JsonElement item in element.EnumerateArray())
                {
                    items.Add(FromJsonCore(item, path + "[" + items.Count.ToString(CultureInfo.InvariantCulture) + "]", depth + 1));
                }

                return new VariableList(items);
            }

            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Number:
                if (element.TryGetInt64(out long l))
                {
                    return l;
                }

                double d = element.GetDouble();
                return double.IsFinite(d) ? d : throw NotFinite(path, NonFiniteName(d));
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }

    private static object? FromJsonNode(JsonNode node, string path, int depth)
    {
        // JsonNode → JsonElement keeps one conversion table; this path is cold (config and payload loading).
        JsonElement element = JsonSerializer.SerializeToElement(node, VariableJsonContext.Default.JsonNode);
        return FromJsonCore(element, path, depth);
    }

    private static decimal TrimDecimal(decimal value)
        => value / 1.0000000000000000000000000000m; // dividing by a scaled one drops trailing zeros: 2.50m → 2.5m.

    private static bool IsYamlInteger(string text)
    {
        ReadOnlySpan<char> span = text;
        if (span.Length > 0 && (span[0] == '-' || span[0] == '+'))
        {
            span = span[1..];
        }

        if (span.Length == 0)
        {
            return false;
        }

        foreach (char c in span)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsOctal(ReadOnlySpan<char> span)
    {
        foreach (char c in span)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }
        }

        return true;
    }

    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    private static bool IsYamlFloat(string text)
    {
        int i = 0;
        if (i < text.Length && (text[i] == '-' || text[i] == '+'))
        {
            i++;
        }

        int intDigits = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
            intDigits++;
        }

        int fracDigits = 0;
        if (i < text.Length && text[i] == '.')
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
                fracDigits++;
            }
        }

        if (intDigits == 0 && fracDigits == 0)
        {
            return false;
        }

        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            i++;
            if (i < text.Length && (text[i] == '-' || text[i] == '+'))
            {
                i++;
            }

            int expDigits = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
                expDigits++;
            }

            if (expDigits == 0)
            {
                return false;
            }
        }

        return i == text.Length;
    }
}

/// <summary>An immutable, ordinal map built by normalisation; never handed out in a mutable form.</summary>
internal sealed class VariableMap : ReadOnlyDictionary<string, object?>
{
    public static new readonly VariableMap Empty = new(new Dictionary<string, object?>(StringComparer.Ordinal));

    public VariableMap(Dictionary<string, object?> map)
        : base(map)
    {
    }
}

/// <summary>An immutable list built by normalisation.</summary>
internal sealed class VariableList : ReadOnlyCollection<object?>
{
    public VariableList(IList<object?> items)
        : base(items)
    {
    }
}
