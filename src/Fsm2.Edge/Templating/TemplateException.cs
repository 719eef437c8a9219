using Fsm2.Edge.Health;

namespace Fsm2.Edge.Templating;

/// <summary>
/// A template could not be parsed or rendered, or a location is invalid (20-templating §2.8). A
/// <see cref="ConfigException"/>: classified Config, never opens a circuit breaker, never a panic.
/// </summary>
/// <remarks>
/// Paths join members with <c>.</c>, write indices as <c>[i]</c> and non-identifier keys as <c>['key']</c>:
/// <c>global.nonexistent_key</c>, <c>brokers[1].host</c>, <c>global['api.endpoint']</c>.
/// </remarks>
public sealed class TemplateException : ConfigException
{
    /// <summary>Creates a template exception of kind <see cref="TemplateErrorKind.Render"/>.</summary>
    public TemplateException()
        : this(TemplateErrorKind.Render, "render template: failed")
    {
    }

    /// <summary>Creates a template exception of kind <see cref="TemplateErrorKind.Render"/>.</summary>
    /// <param name="message">The complete message.</param>
    public TemplateException(string message)
        : this(TemplateErrorKind.Render, message)
    {
    }

    /// <summary>Creates a template exception of kind <see cref="TemplateErrorKind.Render"/>.</summary>
    /// <param name="message">The complete message.</param>
    /// <param name="innerException">The cause.</param>
    public TemplateException(string message, Exception innerException)
        : this(TemplateErrorKind.Render, message, null, null, innerException)
    {
    }

    /// <summary>Creates a template exception.</summary>
    /// <param name="kind">The failure kind.</param>
    /// <param name="message">The complete message, prefix included (<c>parse template: ...</c>).</param>
    /// <param name="path">The variable path, for MissingVariable and value-related Render errors.</param>
    /// <param name="code">The validation code the config pipeline reports (<c>FSM2CFG041</c>), when there is one.</param>
    /// <param name="innerException">The cause, if any.</param>
    public TemplateException(TemplateErrorKind kind, string message, string? path = null, string? code = null, Exception? innerException = null)
        : base(message, innerException!) // ConfigException(string, Exception) accepts a null cause like Exception does.
    {
        Kind = kind;
        Path = path;
        Code = code;
        if (kind == TemplateErrorKind.Parse && TryFindPosition(message, out int line, out int column))
        {
            Line = line;
            Column = column;
        }
    }

    /// <summary>The failure kind.</summary>
    public TemplateErrorKind Kind { get; }

    /// <summary>The variable path (MissingVariable and value-related Render errors), else <see langword="null"/>.</summary>
    public string? Path { get; }

    /// <summary>The 1-based line of a Parse error, when known.</summary>
    public int? Line { get; }

    /// <summary>The 1-based column of a Parse error, when known.</summary>
    public int? Column { get; }

    /// <summary>
    /// The validation code of 50-runtime-monitoring §3.8 this failure maps to: <c>FSM2CFG040</c> Go syntax,
    /// <c>FSM2CFG041</c> Liquid syntax or size, <c>FSM2CFG042</c> missing variable, <c>FSM2CFG043</c> removed tag,
    /// <c>FSM2CFG020</c>–<c>FSM2CFG022</c> location; <see langword="null"/> for Render errors.
    /// </summary>
    public string? Code { get; }

    /// <summary>The metric tag of this failure: <c>missing_variable</c>, <c>parse_error</c> or <c>error</c>.</summary>
    internal string ResultTag => Kind switch
    {
        TemplateErrorKind.MissingVariable => "missing_variable",
        TemplateErrorKind.Parse => "parse_error",
        _ => "error",
    };

    /// <summary>The <c>template_kind</c> log field.</summary>
    internal string KindName => Kind switch
    {
        TemplateErrorKind.Parse => "parse",
        TemplateErrorKind.MissingVariable => "missing_variable",
        TemplateErrorKind.Location => "location",
        _ => "render",
    };

    internal static TemplateException Render(string detail, string? path = null, Exception? inner = null)
        => new(TemplateErrorKind.Render, "render template: " + detail, path, null, inner);

    internal static TemplateException Missing(string path)
        => new(TemplateErrorKind.MissingVariable, $"variables not propagated: missing variable '{path}'{RenameHint(path)}", path, "FSM2CFG042");

    internal static TemplateException Null(string path)
        => new(TemplateErrorKind.MissingVariable, $"variables not propagated: variable '{path}' is null", path, "FSM2CFG042");

    internal static TemplateException Location(string detail, string code)
        => new(TemplateErrorKind.Location, "location: " + detail, null, code);

    // Keys of the Go original that were renamed (20-templating §1.8).
    private static string RenameHint(string path) => path switch
    {
        "internal._created_at" => " (renamed: use 'internal.created_at')",
        "internal.bridged_by" => " (renamed: use 'internal.parent_id')",
        _ => "",
    };

    private static bool TryFindPosition(string message, out int line, out int column)
    {
        line = 0;
        column = 0;
        int at = message.LastIndexOf(" at (", StringComparison.Ordinal);
        if (at < 0)
        {
            return false;
        }

        ReadOnlySpan<char> rest = message.AsSpan(at + 5);
        int colon = rest.IndexOf(':');
        int close = rest.IndexOf(')');
        return colon > 0 && close > colon
            && int.TryParse(rest[..colon], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out line)
            && int.TryParse(rest[(colon + 1)..close], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out column);
    }
}
