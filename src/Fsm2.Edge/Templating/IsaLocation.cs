using System.Globalization;
using System.Text;

namespace Fsm2.Edge.Templating;

/// <summary>
/// ISA-95 location levels of a node (20-templating §3). <see langword="null"/> or <c>""</c> means unset. A child's
/// levels are merged over its parent's: each level comes from the child if set there, otherwise from the parent, so a
/// child cannot unset a parent's level.
/// </summary>
/// <param name="Enterprise">Enterprise level.</param>
/// <param name="Site">Site level.</param>
/// <param name="Area">Area level.</param>
/// <param name="Line">Line level.</param>
/// <param name="Cell">Cell level (config alias: <c>workcell</c>).</param>
public sealed record IsaLocation(
    string? Enterprise = null,
    string? Site = null,
    string? Area = null,
    string? Line = null,
    string? Cell = null)
{
    /// <summary>The level names in canonical order.</summary>
    public static IReadOnlyList<string> LevelNames { get; } = ["enterprise", "site", "area", "line", "cell"];

    /// <summary>A location with no level set.</summary>
    public static IsaLocation None { get; } = new();

    /// <summary>Whether no level is set.</summary>
    public bool IsEmpty => IsUnset(Enterprise) && IsUnset(Site) && IsUnset(Area) && IsUnset(Line) && IsUnset(Cell);

    /// <summary>
    /// The <c>location_path</c>: the set levels in canonical order (enterprise, site, area, line, cell) joined with
    /// <c>.</c>, without empty segments; <c>""</c> when no level is set. Example: <c>ACME.Factory-1.Line-A</c>.
    /// </summary>
    public string Path
    {
        get
        {
            if (IsEmpty)
            {
                return "";
            }

            var builder = new StringBuilder();
            Append(builder, Enterprise);
            Append(builder, Site);
            Append(builder, Area);
            Append(builder, Line);
            Append(builder, Cell);
            return builder.ToString();
        }
    }

    /// <summary>Merges <paramref name="child"/> over <paramref name="parent"/> level by level; either may be <see langword="null"/>.</summary>
    /// <param name="parent">The parent's effective location.</param>
    /// <param name="child">The child's own levels.</param>
    /// <returns>The merged location (never <see langword="null"/>).</returns>
    public static IsaLocation Merge(IsaLocation? parent, IsaLocation? child)
    {
        if (child is null || child.IsEmpty)
        {
            return parent ?? None;
        }

        if (parent is null || parent.IsEmpty)
        {
            return child;
        }

        return new IsaLocation(
            Pick(child.Enterprise, parent.Enterprise),
            Pick(child.Site, parent.Site),
            Pick(child.Area, parent.Area),
            Pick(child.Line, parent.Line),
            Pick(child.Cell, parent.Cell));
    }

    /// <summary>
    /// Computes the <c>location_path</c> of a node from its parent's effective location and its own levels, as the
    /// runtime does: <c>LocationPath(new("ACME", "Factory-1"), new(Line: "Line-A"))</c> is <c>ACME.Factory-1.Line-A</c>.
    /// </summary>
    /// <param name="parent">The parent's effective location.</param>
    /// <param name="own">The node's own levels.</param>
    /// <returns>The path.</returns>
    /// <exception cref="TemplateException">A level value is invalid, or the merged location has levels but no enterprise (kind Location).</exception>
    public static string LocationPath(IsaLocation? parent, IsaLocation? own)
    {
        IsaLocation merged = Merge(parent, own);
        merged.Validate("location");
        return merged.Path;
    }

    /// <summary>
    /// Reads a location mapping (config <c>location:</c>, 20-templating §3.1): keys exactly <c>enterprise</c>,
    /// <c>site</c>, <c>area</c>, <c>line</c>, <c>cell</c> or its alias <c>workcell</c>; scalar values (numbers become
    /// invariant text); absent or null means unset.
    /// </summary>
    /// <param name="levels">The mapping.</param>
    /// <returns>The location.</returns>
    /// <exception cref="TemplateException">
    /// Kind Location with code <c>FSM2CFG020</c> (unknown level, both <c>cell</c> and <c>workcell</c>, a map or list value)
    /// or <c>FSM2CFG021</c> (an empty value or a forbidden character).
    /// </exception>
    public static IsaLocation FromMap(IReadOnlyDictionary<string, object?>? levels)
    {
        if (levels is null || levels.Count == 0)
        {
            return None;
        }

        string? enterprise = null, site = null, area = null, line = null, cell = null;
        bool hasCell = false, hasWorkcell = false;
        foreach (KeyValuePair<string, object?> pair in levels)
        {
            string? value = LevelValue(pair.Key, pair.Value);
            switch (pair.Key)
            {
                case "enterprise":
                    enterprise = value;
                    break;
                case "site":
                    site = value;
                    break;
                case "area":
                    area = value;
                    break;
                case "line":
                    line = value;
                    break;
                case "cell":
                    hasCell = true;
                    cell = value;
                    break;
                case "workcell":
                    hasWorkcell = true;
                    cell = value;
                    break;
                default:
                    throw TemplateException.Location(
                        $"unknown level '{pair.Key}'; levels: enterprise, site, area, line, cell (workcell)", "FSM2CFG020");
            }
        }

        if (hasCell && hasWorkcell)
        {
            throw TemplateException.Location("levels 'cell' and 'workcell' are both set", "FSM2CFG020");
        }

        var location = new IsaLocation(enterprise, site, area, line, cell);
        location.ValidateValues();
        return location;
    }

    /// <summary>
    /// Checks a level value (20-templating §3.1): non-empty, and no <c>.</c> (path separator), <c>/</c>, <c>+</c>,
    /// <c>#</c> (MQTT topic characters), whitespace or control characters.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <returns>The problem (<c>location value 'F.1' must not contain '.'</c>), or <see langword="null"/> when valid.</returns>
    public static string? CheckValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0)
        {
            return "location value must not be empty";
        }

        foreach (char c in value)
        {
            if (c is '.' or '/' or '+' or '#')
            {
                return $"location value '{value}' must not contain '{c}'";
            }

            if (char.IsWhiteSpace(c))
            {
                return $"location value '{value}' must not contain whitespace";
            }

            if (char.IsControl(c))
            {
                return $"location value '{value}' must not contain control character U+{(int)c:X4}";
            }
        }

        return null;
    }

    /// <summary>
    /// Checks the set values and the enterprise rule of a merged location: a location with any level set must have
    /// an enterprise (20-templating §3.2).
    /// </summary>
    /// <param name="nodePath">The node path named in the error (<c>pc1/conn</c>).</param>
    /// <exception cref="TemplateException">Kind Location: <c>FSM2CFG021</c> for a bad value, <c>FSM2CFG022</c> without enterprise.</exception>
    public void Validate(string nodePath)
    {
        ValidateValues();
        if (!IsEmpty && IsUnset(Enterprise))
        {
            throw TemplateException.Location($"merged location of {nodePath} has no 'enterprise'", "FSM2CFG022");
        }
    }

    /// <summary>The template view: one entry per set level, plus <c>workcell</c> when <c>cell</c> is set.</summary>
    internal IReadOnlyDictionary<string, object?> ToTemplateMap()
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        Add(map, "enterprise", Enterprise);
        Add(map, "site", Site);
        Add(map, "area", Area);
        Add(map, "line", Line);
        Add(map, "cell", Cell);
        Add(map, "workcell", Cell);
        return new VariableMap(map);
    }

    private void ValidateValues()
    {
        foreach (string? value in (ReadOnlySpan<string?>)[Enterprise, Site, Area, Line, Cell])
        {
            if (value is { Length: > 0 } && CheckValue(value) is { } problem)
            {
                throw TemplateException.Location(problem, "FSM2CFG021");
            }
        }
    }

    private static string? LevelValue(string key, object? value) => value switch
    {
        null => null,
        string s when s.Length == 0 => throw TemplateException.Location($"location value of '{key}' must not be empty", "FSM2CFG021"),
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable number when value is not DateTimeOffset and not DateTime => number.ToString(null, CultureInfo.InvariantCulture),
        _ => throw TemplateException.Location($"location value of '{key}' must be a string", "FSM2CFG020"),
    };

    private static void Add(Dictionary<string, object?> map, string key, string? value)
    {
        if (!IsUnset(value))
        {
            map[key] = value;
        }
    }

    private static void Append(StringBuilder builder, string? value)
    {
        if (!IsUnset(value))
        {
            if (builder.Length > 0)
            {
                builder.Append('.');
            }

            builder.Append(value);
        }
    }

    private static string? Pick(string? child, string? parent) => IsUnset(child) ? parent : child;

    private static bool IsUnset(string? value) => string.IsNullOrEmpty(value);
}
