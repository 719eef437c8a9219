using System.Globalization;
using System.Text.RegularExpressions;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.TestSupport;

/// <summary><see cref="EdgeHost.RunAsync"/> in-process on a config file, with its log captured.</summary>
public sealed partial class InProcessHost : IAsyncDisposable
{
    private readonly LockedLog _log = new();
    private readonly HostSignals _signals = new();

    private InProcessHost(string file, bool watch)
    {
        Run = EdgeHost.RunAsync(new HostOptions { ConfigFile = file, NoWatch = !watch, Out = _log, Error = _log }, _signals);
    }

    /// <summary>The run; its result is the exit code.</summary>
    public Task<int> Run { get; }

    /// <summary>The log so far.</summary>
    public string Log => _log.Text;

    /// <summary>Starts the host on <paramref name="file"/>; with <paramref name="watch"/> the file is hot-reloaded.</summary>
    public static InProcessHost Start(string file, bool watch = false) => new(file, watch);

    /// <summary>Waits (bounded) until the log contains <paramref name="text"/>.</summary>
    public void WaitForLog(string text, TimeSpan? timeout = null) =>
        Wait.Until(() => Log.Contains(text, StringComparison.Ordinal) || Run.IsCompleted, $"log line '{text}'", timeout);

    /// <summary>The port of <c>broker_started</c>.</summary>
    public int BrokerPort()
    {
        WaitForLog("broker_started");
        Match m = BrokerStarted().Match(Log);
        Assert.True(m.Success, "broker_started carries the endpoint");
        return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Sends a signal as <see cref="Program"/> would.</summary>
    public void Signal(string name) => _signals.Request(name);

    /// <summary>SIGTERM, then the exit code (bounded).</summary>
    public async Task<int> StopAsync()
    {
        _signals.Request("SIGTERM");
        return await Run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!Run.IsCompleted)
        {
            await StopAsync();
        }

        _signals.Dispose();
        await _log.DisposeAsync();
    }

    // A text writer whose content can be read while the host writes to it from other threads.
    private sealed class LockedLog : TextWriter
    {
        private readonly System.Text.StringBuilder _text = new();
        private readonly Lock _lock = new();

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_lock)
                {
                    return _text.ToString();
                }
            }
        }

        public override void Write(char value)
        {
            lock (_lock)
            {
                _text.Append(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_lock)
            {
                _text.Append(value);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_lock)
            {
                _text.Append(value).Append('\n');
            }
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(string? value)
        {
            Write(value);
            return Task.CompletedTask;
        }
    }

    [GeneratedRegex(@"broker_started mode=embedded endpoint=mqtt://127\.0\.0\.1:(\d+)")]
    private static partial Regex BrokerStarted();
}
