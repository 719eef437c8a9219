using System.Globalization;
using Fsm2.Edge.Config;
using Fsm2.Edge.Templating;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Fsm2.Edge.Workers.Pack;

/// <summary>
/// Reads a pack worker's rendered <c>config</c> (a YAML mapping) into typed fields. Every error is a
/// <see cref="FormatException"/> whose message names the worker type and the field, so the dry derive of
/// <c>validate</c> and a failed derive at run time both tell the user what to fix.
/// </summary>
/// <remarks>Unknown keys are errors (a typo such as <c>hots</c> must not silently fall back to a default).</remarks>
internal sealed class ConfigFields
{
    private readonly IReadOnlyDictionary<string, object?> _map;
    private readonly string _owner;

    private ConfigFields(IReadOnlyDictionary<string, object?> map, string owner)
    {
        _map = map;
        _owner = owner;
    }

    /// <summary>Parses <paramref name="yaml"/>; an empty text is an empty mapping.</summary>
    public static ConfigFields Parse(string yaml, string owner, params ReadOnlySpan<string> allowedKeys)
    {
        IReadOnlyDictionary<string, object?> map = ParseMap(yaml, owner);
        foreach (string key in map.Keys)
        {
            if (!allowedKeys.Contains(key))
            {
                throw new FormatException($"{owner} config: unknown field '{key}' (allowed: {string.Join(", ", allowedKeys.ToArray())})");
            }
        }

        return new ConfigFields(map, owner);
    }

    /// <summary>A nested mapping read with the same rules (for example <c>sink:</c>).</summary>
    public ConfigFields? Section(string key, params ReadOnlySpan<string> allowedKeys)
    {
        if (!_map.TryGetValue(key, out object? value) || value is null)
        {
            return null;
        }

        if (value is not IReadOnlyDictionary<string, object?> map)
        {
            throw Bad(key, "must be a mapping");
        }

        foreach (string k in map.Keys)
        {
            if (!allowedKeys.Contains(k))
            {
                throw new FormatException($"{_owner} config: unknown field '{key}.{k}' (allowed: {string.Join(", ", allowedKeys.ToArray())})");
            }
        }

        return new ConfigFields(map, $"{_owner} {key}");
    }

    public static IReadOnlyDictionary<string, object?> ParseMap(string yaml, string owner)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml ?? ""));
        }
        catch (YamlException ex)
        {
            throw new FormatException($"{owner} config: invalid YAML at line {ex.Start.Line}: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0)
        {
            return new Dictionary<string, object?>(StringComparer.Ordinal);
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new FormatException($"{owner} config: expected a YAML mapping");
        }

        try
        {
            return VariableBundle.FromYamlNode(root, "") as IReadOnlyDictionary<string, object?>
                ?? throw new FormatException($"{owner} config: expected a YAML mapping");
        }
        catch (VariableValueException ex)
        {
            throw new FormatException($"{owner} config: {ex.Message}", ex);
        }
    }

    public bool Has(string key) => _map.TryGetValue(key, out object? v) && v is not null;

    public string? String(string key, bool required = false)
    {
        if (!_map.TryGetValue(key, out object? value) || value is null)
        {
            return required ? throw Bad(key, "is required") : null;
        }

        string text = value switch
        {
            string s => s,
            long or decimal or double or bool => Convert.ToString(value, CultureInfo.InvariantCulture)!,
            _ => throw Bad(key, "must be a string"),
        };
        if (required && text.Length == 0)
        {
            throw Bad(key, "must not be empty");
        }

        return text;
    }

    public long Integer(string key, long defaultValue, long min, long max)
    {
        if (!_map.TryGetValue(key, out object? value) || value is null)
        {
            return defaultValue;
        }

        long number = value switch
        {
            long l => l,
            string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed) => parsed,
            _ => throw Bad(key, $"must be an integer {min}–{max} (got {Describe(value)})"),
        };
        return number < min || number > max ? throw Bad(key, $"must be {min}–{max} (got {number})") : number;
    }

    public long RequiredInteger(string key, long min, long max)
        => Has(key) ? Integer(key, 0, min, max) : throw Bad(key, "is required");

    public double Number(string key, double defaultValue)
    {
        if (!_map.TryGetValue(key, out object? value) || value is null)
        {
            return defaultValue;
        }

        return value switch
        {
            long l => l,
            decimal m => (double)m,
            double d => d,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) => parsed,
            _ => throw Bad(key, $"must be a number (got {Describe(value)})"),
        };
    }

    public bool Bool(string key, bool defaultValue)
    {
        if (!_map.TryGetValue(key, out object? value) || value is null)
        {
            return defaultValue;
        }

        return value is bool b ? b : throw Bad(key, $"must be true or false (got {Describe(value)})");
    }

    public TimeSpan Duration(string key, TimeSpan defaultValue, TimeSpan min, TimeSpan max)
    {
        if (!_map.TryGetValue(key, out object? value) || value is null)
        {
            return defaultValue;
        }

        string text = value is long l ? l.ToString(CultureInfo.InvariantCulture) : value as string ?? "";
        if (!DurationParser.TryParse(text, out TimeSpan duration))
        {
            throw Bad(key, $"must be a duration such as 500ms, 10s or 1m (got {Describe(value)})");
        }

        return duration < min || duration > max
            ? throw Bad(key, $"must be between {DurationParser.Format(min)} and {DurationParser.Format(max)} (got {text})")
            : duration;
    }

    public string Choice(string key, string defaultValue, params ReadOnlySpan<string> choices)
    {
        string? text = String(key);
        if (text is null)
        {
            return defaultValue;
        }

        return choices.Contains(text) ? text : throw Bad(key, $"must be one of {string.Join(", ", choices.ToArray())} (got '{text}')");
    }

    public IReadOnlyList<object?>? List(string key)
    {
        if (!_map.TryGetValue(key, out object? value) || value is null)
        {
            return null;
        }

        return value as IReadOnlyList<object?> ?? throw Bad(key, "must be a list");
    }

    public FormatException Bad(string key, string message) => new($"{_owner} config: field '{key}' {message}");

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.GetType().Name,
    };
}
