using Fsm2.Edge.Templating;
using YamlDotNet.Core;

namespace Fsm2.Edge.Config;

internal sealed partial class ConfigReader
{
    // Per-message variables the worker pack sets when it renders a named template; validation test-renders with them
    // set to this value so a missing variable is found before deployment (§3.5, §7.4).
    private const string ProbeValue = "_probe";

    private static readonly string[] s_perMessageVariables = ["tag", "topic"];

    // Where each entry's templates sit in the file, for findings raised by the test render after reading.
    private readonly Dictionary<WorkerEntry, TemplateSources> _templateSources = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// The load-time template check of §3.8, done by the runtime's own parser (20-templating §2.7, §2.8): Go syntax
    /// (FSM2CFG040, with the Liquid hint), Liquid syntax and size (FSM2CFG041, Fluid's message) and the removed tags
    /// <c>include</c>/<c>render</c> (FSM2CFG043). The finding is placed at the file line and column of the offending
    /// template position (block scalars: first content line + template line − 1); the message keeps the template's own
    /// <c>(L:C)</c>. The parse lands in the renderer's cache, so the runtime does not parse the same text again.
    /// </summary>
    /// <returns><see langword="true"/> when the text parses.</returns>
    private bool CheckTemplate(YScalar scalar, string path)
    {
        ParsedTemplate parsed = _renderer.Parse(scalar.Text);
        if (parsed.Error is not { } error)
        {
            return true;
        }

        (int line, int column) = error.Line is { } l && error.Column is { } c
            ? FilePosition(scalar, l, c)
            : (FirstContentLine(scalar), scalar.Column);
        int code = error.Code switch
        {
            "FSM2CFG040" => ConfigCodes.GoTemplateSyntax,
            "FSM2CFG043" => ConfigCodes.ForbiddenTag,
            _ => ConfigCodes.LiquidParse,
        };
        Error(line, column, code, path, WithoutPrefix(error.Message));
        return false;
    }

    /// <summary>
    /// Test-renders a template of a file entry with the node's scope and reports a failure at the template line that
    /// references the failing variable: a missing or null variable is FSM2CFG042 (a warning for <c>global.*</c> in fleet
    /// mode, where the fleet topic may supply it), an unknown filter FSM2CFG041, any other render error (printed map,
    /// limits, member of a scalar) FSM2CFG044.
    /// </summary>
    /// <returns>The output, or <see langword="null"/> when the render failed.</returns>
    private string? TestRender(YScalar? scalar, int fallbackLine, string text, RenderScope scope, string path, string? context)
    {
        try
        {
            return _renderer.Render(text, scope);
        }
        catch (TemplateException ex)
        {
            ReportRenderFailure(ex, scalar, fallbackLine, text, path, context);
            return null;
        }
    }

    private void ReportRenderFailure(TemplateException ex, YScalar? scalar, int fallbackLine, string text, string path, string? context)
    {
        int code = ex.Kind switch
        {
            TemplateErrorKind.MissingVariable => ConfigCodes.MissingVariable,
            TemplateErrorKind.Parse => ex.Code == "FSM2CFG040" ? ConfigCodes.GoTemplateSyntax : ex.Code == "FSM2CFG043" ? ConfigCodes.ForbiddenTag : ConfigCodes.LiquidParse,
            TemplateErrorKind.Location => ex.Code switch
            {
                "FSM2CFG021" => ConfigCodes.InvalidLevelValue,
                "FSM2CFG022" => ConfigCodes.MissingEnterprise,
                _ => ConfigCodes.UnknownLevel,
            },
            _ when ex.Message.StartsWith("render template: unknown filter", StringComparison.Ordinal) => ConfigCodes.LiquidParse,
            _ => ConfigCodes.RenderedConfigInvalid,
        };

        (int line, int column) = (fallbackLine, 1);
        if (scalar is not null)
        {
            (line, column) = ex.Line is { } l && ex.Column is { } c
                ? FilePosition(scalar, l, c)
                : ex.Path is { } variable && FindReference(text, variable) is { } at
                    ? FilePosition(scalar, at.Line, at.Column)
                    : (FirstContentLine(scalar), scalar.Column);
        }

        string message = WithoutPrefix(ex.Message) + (context is null ? "" : $" ({context})");
        bool fleetMayProvide = code == ConfigCodes.MissingVariable && _fleetMode && ex.Path is { } p && p.StartsWith("global.", StringComparison.Ordinal);
        if (fleetMayProvide)
        {
            _findings.Add(new ConfigFinding(_file, line, column, FindingSeverity.Warning, code, path, message + "; the fleet topic may provide it"));
        }
        else
        {
            Error(line, column, code, path, message);
        }
    }

    /// <summary>
    /// The file position of a template position. Literal block scalars map line for line (content indentation added to
    /// the column); line 1 of a flow scalar starts at the scalar (after its quote); other lines of folded or multi-line
    /// flow scalars are found by searching the file for the template text at that position.
    /// </summary>
    private (int Line, int Column) FilePosition(YScalar scalar, int templateLine, int templateColumn)
    {
        if (scalar.Style == ScalarStyle.Literal)
        {
            int fileLine = scalar.Line + templateLine;
            return (fileLine, BlockIndent(scalar) + templateColumn);
        }

        if (templateLine == 1 && !scalar.IsBlock)
        {
            int quote = scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted ? 1 : 0;
            return (scalar.Line, scalar.Column + quote + templateColumn - 1);
        }

        string[] templateLines = scalar.Text.Split('\n');
        if (templateLine <= templateLines.Length)
        {
            string rest = templateLines[templateLine - 1];
            string fragment = rest[Math.Min(Math.Max(templateColumn - 1, 0), rest.Length)..].TrimEnd();
            fragment = fragment[..Math.Min(fragment.Length, 24)];
            if (fragment.Length > 0)
            {
                for (int line = scalar.Line; line <= _lines.Length; line++)
                {
                    int index = _lines[line - 1].IndexOf(fragment, StringComparison.Ordinal);
                    if (index >= 0)
                    {
                        return (line, index + 1);
                    }
                }
            }
        }

        return (FirstContentLine(scalar), scalar.Column);
    }

    private static int FirstContentLine(YScalar scalar) => scalar.IsBlock ? scalar.Line + 1 : scalar.Line;

    /// <summary>The indentation of a block scalar's content: that of its first non-blank content line.</summary>
    private int BlockIndent(YScalar scalar)
    {
        for (int line = scalar.Line + 1; line <= _lines.Length; line++)
        {
            string text = _lines[line - 1].TrimEnd('\r');
            if (text.Trim().Length > 0)
            {
                return text.Length - text.TrimStart(' ').Length;
            }
        }

        return 0;
    }

    /// <summary>
    /// Where a template first references <paramref name="variablePath"/> (<c>global.nonexistent_key</c>,
    /// <c>brokers[5]</c>): the full path, else its top-level name, as a whole word; 1-based line and column.
    /// </summary>
    private static (int Line, int Column)? FindReference(string text, string variablePath)
    {
        int bracket = variablePath.IndexOf('[', StringComparison.Ordinal);
        int dot = variablePath.IndexOf('.', StringComparison.Ordinal);
        int rootEnd = bracket < 0 ? dot : dot < 0 ? bracket : Math.Min(dot, bracket);
        foreach (string candidate in (ReadOnlySpan<string>)[variablePath, rootEnd > 0 ? variablePath[..rootEnd] : variablePath])
        {
            int at = 0;
            while ((at = text.IndexOf(candidate, at, StringComparison.Ordinal)) >= 0)
            {
                int end = at + candidate.Length;
                bool wordStart = at == 0 || !(IsNameChar(text[at - 1]) || text[at - 1] == '.');
                bool wordEnd = end >= text.Length || !IsNameChar(text[end]);
                if (wordStart && wordEnd && InsideTag(text, at))
                {
                    int lineStart = at == 0 ? 0 : text.LastIndexOf('\n', at - 1) + 1;
                    int line = 1 + text.AsSpan(0, lineStart).Count('\n');
                    return (line, at - lineStart + 1);
                }

                at = end;
            }
        }

        return null;

        static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

        static bool InsideTag(string text, int at)
        {
            int open = Math.Max(text.LastIndexOf("{{", at, StringComparison.Ordinal), text.LastIndexOf("{%", at, StringComparison.Ordinal));
            if (open < 0)
            {
                return false;
            }

            int close = Math.Max(text.LastIndexOf("}}", at, StringComparison.Ordinal), text.LastIndexOf("%}", at, StringComparison.Ordinal));
            return close < open;
        }
    }

    /// <summary>The message without the template prefix; the finding's code says what kind of failure it is.</summary>
    private static string WithoutPrefix(string message)
    {
        foreach (string prefix in (ReadOnlySpan<string>)["parse template: ", "render template: ", "variables not propagated: ", "location: "])
        {
            if (message.StartsWith(prefix, StringComparison.Ordinal))
            {
                return message[prefix.Length..];
            }
        }

        return message;
    }

    /// <summary>The file scalars of an entry's <c>config</c> and <c>templates</c>, kept for the test render.</summary>
    private sealed class TemplateSources
    {
        public YScalar? Config { get; set; }

        public Dictionary<string, YScalar> Named { get; } = new(StringComparer.Ordinal);
    }
}
