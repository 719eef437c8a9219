using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Fsm2.Edge.Workers.Pack;

/// <summary>The UMH payload format <c>{"timestamp_ms":…,"value":…}</c> of device and UNS topics (50-runtime-monitoring §6.1).</summary>
internal static class PayloadJson
{
    /// <summary>
    /// Wraps a scalar payload (<c>payload_format: raw</c>, §7.4): a payload that is a JSON number is written unquoted,
    /// byte for byte; anything else becomes a JSON string (invalid UTF-8 is replaced).
    /// </summary>
    public static void WriteRaw(IBufferWriter<byte> output, ReadOnlySpan<byte> payload, DateTimeOffset receivedAt)
    {
        ReadOnlySpan<byte> trimmed = payload.Trim(" \t\r\n"u8);
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteNumber("timestamp_ms"u8, receivedAt.ToUnixTimeMilliseconds());
        json.WritePropertyName("value"u8);
        if (IsJsonNumber(trimmed))
        {
            json.WriteRawValue(trimmed, skipInputValidation: true);
        }
        else
        {
            json.WriteStringValue(Encoding.UTF8.GetString(payload));
        }

        json.WriteEndObject();
    }

    /// <summary>Writes a simulator value.</summary>
    public static void WriteValue(IBufferWriter<byte> output, double value, DateTimeOffset at)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteNumber("timestamp_ms"u8, at.ToUnixTimeMilliseconds());
        json.WriteNumber("value"u8, value);
        json.WriteEndObject();
    }

    /// <summary>Reads a write-back value: <c>{"value":x}</c> or a bare number.</summary>
    public static bool TryReadValue(ReadOnlySpan<byte> payload, out double value)
    {
        value = 0;
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read())
            {
                return false;
            }

            if (reader.TokenType == JsonTokenType.Number)
            {
                return reader.TryGetDouble(out value);
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isValue = reader.ValueTextEquals("value"u8);
                if (!reader.Read())
                {
                    return false;
                }

                if (isValue)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out value);
                }

                reader.Skip();
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsJsonNumber(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(text, isFinalBlock: true, state: default);
            return reader.Read() && reader.TokenType == JsonTokenType.Number && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
