using System.Text.RegularExpressions;

namespace Fsm2.Edge.Templating;

/// <summary>
/// Finds Go <c>text/template</c> syntax in a template before it is parsed (20-templating §2.7), so a migrated
/// template fails with a hint showing the Liquid form instead of rendering something else. Runs once per distinct
/// text; the result is cached with the parse result.
/// </summary>
public static partial class GoSyntaxDetector
{
    /// <summary>
    /// Returns the message of the first Go-syntax tag (without the <c>parse template: </c> prefix), e.g.
    /// <c>Go template syntax '{{ .IP }}' is not supported; write '{{ IP }}' (Liquid) at (1:1)</c>, or
    /// <see langword="null"/> when the text has none.
    /// </summary>
    /// <param name="text">The template text.</param>
    /// <returns>The message or <see langword="null"/>.</returns>
    public static string? Find(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int open = text.IndexOf("{{", StringComparison.Ordinal);
        if (open < 0)
        {
            return null;
        }

        // 1. Raw and comment blocks are blanked (same length, so positions stay valid).
        string scan = BlankBlocks().Replace(text, static m => new string(' ', m.Length));
        int from = 0;
        while ((open = scan.IndexOf("{{", from, StringComparison.Ordinal)) >= 0)
        {
            // 2. Non-greedy pairs, possibly spanning lines.
            int close = scan.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                return null; // unterminated: the Liquid parser reports it.
            }

            string tag = text[open..(close + 2)];
            string body = Body(scan.AsSpan(open + 2, close - open - 2));
            if (IsGo(body))
            {
                (int line, int column) = Position(text, open);
                return $"Go template syntax '{tag}' is not supported; write {Hint(tag, body)} (Liquid) at ({line}:{column})";
            }

            from = close + 2;
        }

        return null;
    }

    private static string Body(ReadOnlySpan<char> inner)
    {
        // 3. Without trim markers and surrounding whitespace; string literals blanked.
        if (inner.Length > 0 && inner[0] == '-')
        {
            inner = inner[1..];
        }

        if (inner.Length > 0 && inner[^1] == '-')
        {
            inner = inner[..^1];
        }

        return StringLiteral().Replace(inner.Trim().ToString(), static m => new string(' ', m.Length));
    }

    private static bool IsGo(string body)
    {
        if (body.StartsWith('.') || body.StartsWith('$') || body.StartsWith("/*", StringComparison.Ordinal))
        {
            return !IsNumber(body);
        }

        string first = FirstWord(body);
        if (first is "if" or "else" or "end" or "range" or "with" or "define" or "template" or "block" or "break" or "continue")
        {
            return true;
        }

        // `.` or `$` followed by a letter or '_', at the start or after whitespace or '(': eq .s "x", len .list.
        for (int i = 1; i < body.Length - 1; i++)
        {
            char c = body[i];
            char prev = body[i - 1];
            char next = body[i + 1];
            if ((c == '.' || c == '$') && (char.IsWhiteSpace(prev) || prev == '(') && (char.IsAsciiLetter(next) || next == '_'))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsNumber(string body) => body.Length > 1 && body[0] == '.' && char.IsAsciiDigit(body[1]);

    private static string FirstWord(string body)
    {
        int end = 0;
        while (end < body.Length && !char.IsWhiteSpace(body[end]))
        {
            end++;
        }

        return body[..end];
    }

    private static string Hint(string tag, string body)
    {
        if (FieldPath().IsMatch(body))
        {
            // The same tag without the leading dot; trim markers and spacing kept.
            int dot = tag.IndexOf('.', StringComparison.Ordinal);
            return "'" + tag.Remove(dot, 1) + "'";
        }

        if (body.StartsWith("/*", StringComparison.Ordinal))
        {
            return "'{% comment %}...{% endcomment %}'";
        }

        if (body.StartsWith('$'))
        {
            return "'{% assign name = value %}'";
        }

        return FirstWord(body) switch
        {
            "if" => "'{% if a == \"x\" %}...{% endif %}' with ==, != or unless for eq, ne, not",
            "else" => "'{% else %}' or '{% elsif ... %}'",
            "end" => "'{% endif %}' or '{% endfor %}'",
            "range" => "'{% for item in list %}...{% endfor %}'",
            "len" => "'{{ list.size }}'",
            "index" => "'{{ list[0] }}' or '{{ map[\"key\"] }}'",
            "printf" => "the parts side by side, e.g. '{{ IP }}:{{ PORT }}'",
            _ => "names without the leading dot (see the Go-to-Liquid table)",
        };
    }

    private static (int Line, int Column) Position(string text, int index)
    {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < index; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, index - lineStart + 1);
    }

    [GeneratedRegex(@"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex BlankBlocks();

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"^\.[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPath();
}
