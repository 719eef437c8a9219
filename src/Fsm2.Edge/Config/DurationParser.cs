using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Fsm2.Edge.Config;

/// <summary>
/// The one duration syntax of the command line and the YAML file (50-runtime-monitoring §2.1): a sequence of
/// <c>&lt;number&gt;&lt;unit&gt;</c> parts with units <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c> (<c>500ms</c>, <c>10s</c>,
/// <c>1m30s</c>, <c>1.5s</c>). A bare <c>0</c> means zero. Whitespace, signs and other units are rejected.
/// </summary>
public static class DurationParser
{
    /// <summary>Parses a duration.</summary>
    /// <param name="text">The text, e.g. <c>1m30s</c>.</param>
    /// <param name="value">The duration when the text is valid.</param>
    /// <returns><see langword="true"/> when <paramref name="text"/> is a valid duration.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        if (text == "0")
        {
            return true;
        }

        double totalMs = 0;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
            {
                return false;
            }

            double unitMs;
            if (i + 1 < text.Length && text[i] == 'm' && text[i + 1] == 's')
            {
                unitMs = 1;
                i += 2;
            }
            else if (i < text.Length && text[i] is 's' or 'm' or 'h')
            {
                unitMs = text[i] switch { 's' => 1_000, 'm' => 60_000, _ => 3_600_000 };
                i++;
            }
            else
            {
                return false;
            }

            totalMs += number * unitMs;
        }

        if (totalMs > TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    /// <summary>Formats a duration the way the parser reads it (<c>1m30s</c>, <c>500ms</c>, <c>0</c>).</summary>
    /// <param name="value">A non-negative duration.</param>
    /// <returns>The shortest text of whole hours, minutes, seconds and milliseconds.</returns>
    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            return "0";
        }

        var text = new System.Text.StringBuilder();
        long ms = (long)value.TotalMilliseconds;
        Append(text, ms / 3_600_000, "h");
        Append(text, ms / 60_000 % 60, "m");
        Append(text, ms / 1_000 % 60, "s");
        Append(text, ms % 1_000, "ms");
        return text.Length == 0 ? "0" : text.ToString();

        static void Append(System.Text.StringBuilder text, long part, string unit)
        {
            if (part > 0)
            {
                text.Append(part.ToString(CultureInfo.InvariantCulture)).Append(unit);
            }
        }
    }
}
