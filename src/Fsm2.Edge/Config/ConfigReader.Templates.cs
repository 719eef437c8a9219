using System.Text.RegularExpressions;

namespace Fsm2.Edge.Config;

internal sealed partial class ConfigReader
{
    /// <summary>
    /// The load-time template checks of §3.8 that need no template engine: Go syntax (FSM2CFG040), forbidden tags
    /// (FSM2CFG043) and unclosed tags (FSM2CFG041). Each finding carries the line of the offending template line (block
    /// scalars: first content line + template line − 1) and the column where it starts. The full Liquid parse and the
    /// test render belong to the template engine (20-templating) and run in the dry derive.
    /// </summary>
    private void CheckTemplate(YScalar scalar, string path)
    {
        string[] templateLines = scalar.Text.Split('\n');
        int firstLine = scalar.IsBlock ? scalar.Line + 1 : scalar.Line;
        for (int k = 0; k < templateLines.Length; k++)
        {
            string text = templateLines[k];
            int fileLine = firstLine + k;
            foreach (Match match in GoField().Matches(text))
            {
                string liquid = "{{ " + match.Groups["name"].Value + " }}";
                string suggestion = match.Groups["name"].Value.Length > 0 ? $"; write '{liquid}' (Liquid)" : "; Liquid has no '.' context";
                Error(fileLine, ColumnOf(fileLine, match.Value, scalar), ConfigCodes.GoTemplateSyntax, path,
                    $"Go template syntax '{match.Value}' is not supported{suggestion}");
            }

            foreach (Match match in GoAction().Matches(text))
            {
                Error(fileLine, ColumnOf(fileLine, match.Value, scalar), ConfigCodes.GoTemplateSyntax, path,
                    $"Go template action '{match.Value}' is not supported; use Liquid tags ({{% if %}}, {{% for %}}, {{% endif %}})");
            }

            foreach (Match match in ForbiddenTag().Matches(text))
            {
                Error(fileLine, ColumnOf(fileLine, match.Value, scalar), ConfigCodes.ForbiddenTag, path,
                    $"'{match.Groups["tag"].Value}' is not allowed in Fsm2.Edge templates");
            }

            CheckClosed(text, "{{", "}}", fileLine, scalar, path);
            CheckClosed(text, "{%", "%}", fileLine, scalar, path);
        }
    }

    private void CheckClosed(string text, string open, string close, int fileLine, YScalar scalar, string path)
    {
        int at = 0;
        while ((at = text.IndexOf(open, at, StringComparison.Ordinal)) >= 0)
        {
            int end = text.IndexOf(close, at + open.Length, StringComparison.Ordinal);
            int nextOpen = text.IndexOf(open, at + open.Length, StringComparison.Ordinal);
            if (end < 0 || (nextOpen >= 0 && nextOpen < end))
            {
                Error(fileLine, ColumnOf(fileLine, text[at..], scalar), ConfigCodes.LiquidParse, path, $"'{open}' is not closed with '{close}' on the same line");
                return;
            }

            at = end + close.Length;
        }
    }

    /// <summary>The 1-based column of <paramref name="fragment"/> on a file line, or the scalar's column when not found.</summary>
    private int ColumnOf(int fileLine, string fragment, YScalar scalar)
    {
        if (fileLine >= 1 && fileLine <= _lines.Length)
        {
            int index = _lines[fileLine - 1].IndexOf(fragment, StringComparison.Ordinal);
            if (index >= 0)
            {
                return index + 1;
            }
        }

        return scalar.Column;
    }

    // {{ .IP }}, {{ .Values.x }}, {{ . }} and the trim forms {{- .IP -}}.
    [GeneratedRegex(@"\{\{-?\s*\.(?<name>[A-Za-z_][A-Za-z0-9_.]*)?\s*-?\}\}")]
    private static partial Regex GoField();

    // Go actions that have no Liquid counterpart in output tags.
    [GeneratedRegex(@"\{\{-?\s*(end|range|with|define|template|block)\b[^}]*\}\}")]
    private static partial Regex GoAction();

    // 20-templating: templates never read files or other templates.
    [GeneratedRegex(@"\{%-?\s*(?<tag>include|render|layout|section|sections)\b")]
    private static partial Regex ForbiddenTag();
}
