using System.Globalization;
using System.Text.Json;

namespace Fsm2.Edge.Workers.Pack;

/// <summary>Helpers of the pack's <c>observed</c> status summaries (50-runtime-monitoring §6.1 conventions: camelCase,
/// RFC 3339 UTC timestamps with milliseconds, <c>null</c> for unknown values).</summary>
internal static class StatusJson
{
    public static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? at)
    {
        if (at is not DateTimeOffset value)
        {
            writer.WriteNull(name);
            return;
        }

        Span<char> text = stackalloc char[32];
        value.UtcDateTime.TryFormat(text, out int written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        writer.WriteString(name, text[..written]);
    }

    public static void WriteString(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
