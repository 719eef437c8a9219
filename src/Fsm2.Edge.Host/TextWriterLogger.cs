using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Host;

/// <summary>
/// The host's log output (50-runtime-monitoring §9.1): <c>console</c> prints <c>level  message</c> (the message starts
/// with the event name); <c>json</c> prints one object per line with <c>ts</c>, <c>level</c>, <c>event</c>,
/// <c>category</c>, <c>message</c> and the structured fields in snake_case. Writes are serialized per provider.
/// </summary>
internal sealed class TextWriterLoggerProvider : ILoggerProvider
{
    private readonly TextWriter _writer;
    private readonly bool _json;
    private readonly TimeProvider _time;
    private readonly Lock _writeLock = new();

    public TextWriterLoggerProvider(TextWriter writer, bool json, TimeProvider time)
    {
        _writer = writer;
        _json = json;
        _time = time;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() => _writer.Flush();

    private static string LevelText(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "crit",
    };

    private void Write(string category, LogLevel level, EventId eventId, string message, IReadOnlyList<KeyValuePair<string, object?>>? fields, Exception? exception)
    {
        string line;
        if (_json)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteString("ts", _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteString("level", LevelText(level));
                json.WriteString("event", eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                json.WriteString("category", category);
                json.WriteString("message", message);
                if (fields is not null)
                {
                    foreach (KeyValuePair<string, object?> field in fields)
                    {
                        if (field.Key == "{OriginalFormat}")
                        {
                            continue;
                        }

                        json.WriteString(SnakeCase(field.Key), Convert.ToString(field.Value, System.Globalization.CultureInfo.InvariantCulture));
                    }
                }

                if (exception is not null)
                {
                    json.WriteString("exception", exception.ToString());
                }

                json.WriteEndObject();
            }

            line = Encoding.UTF8.GetString(buffer.ToArray());
        }
        else
        {
            line = exception is null ? $"{LevelText(level),-5}  {message}" : $"{LevelText(level),-5}  {message}{Environment.NewLine}{exception}";
        }

        lock (_writeLock)
        {
            _writer.WriteLine(line);
            _writer.Flush();
        }
    }

    private static string SnakeCase(string name)
    {
        var text = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    text.Append('_');
                }

                text.Append(char.ToLowerInvariant(c));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    private sealed class Logger(TextWriterLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            provider.Write(category, logLevel, eventId, formatter(state, exception), state as IReadOnlyList<KeyValuePair<string, object?>>, exception);
        }
    }
}
