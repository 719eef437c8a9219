using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.TestSupport;

/// <summary>One line the child process wrote, with the test's wall time at arrival.</summary>
public sealed record OutputLine(string Text, TimeSpan At, bool StdErr)
{
    /// <summary>The line as a JSON log record (<c>--log-format json</c>), or null when it is not one.</summary>
    public JsonElement? Record
    {
        get
        {
            if (!Text.StartsWith('{'))
            {
                return null;
            }

            try
            {
                return JsonDocument.Parse(Text).RootElement.Clone();
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    /// <summary>The <c>event</c> of a JSON log record, or null.</summary>
    public string? Event => Record is { } r && r.TryGetProperty("event", out JsonElement e) ? e.GetString() : null;
}

/// <summary>
/// The built <c>fsm2-edge</c> host as a child process (60-scenarios §1.1 mode C): started with <c>dotnet fsm2-edge.dll</c>
/// from the test's output folder, its stdout and stderr recorded line by line, signalled by PID with <c>kill</c>, and
/// killed by PID on dispose if it is still running.
/// </summary>
public sealed class HostProcess : IDisposable
{
    private readonly ConcurrentQueue<OutputLine> _lines = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Process _process;

    private HostProcess(Process process) => _process = process;

    /// <summary>The PID.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code (after <see cref="WaitForExit"/>).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Wall time since the start.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Every line so far.</summary>
    public IReadOnlyList<OutputLine> Lines => [.. _lines];

    /// <summary>The standard output so far, one string.</summary>
    public string StdOut => string.Join('\n', _lines.Where(l => !l.StdErr).Select(l => l.Text));

    /// <summary>Everything so far, for failure messages.</summary>
    public string Transcript => string.Join('\n', _lines.Select(l => (l.StdErr ? "stderr: " : "") + l.Text));

    /// <summary>JSON log records of <paramref name="eventName"/>, in order.</summary>
    public IReadOnlyList<JsonElement> Events(string eventName) =>
        [.. _lines.Where(l => l.Event == eventName).Select(l => l.Record!.Value)];

    /// <summary>Starts <c>fsm2-edge</c> with <paramref name="args"/> in <paramref name="workingDirectory"/> (default: the current one).</summary>
    public static HostProcess Start(string? workingDirectory, params string[] args)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "fsm2-edge.dll"), .. args])
        {
            info.ArgumentList.Add(arg);
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start fsm2-edge");
        var host = new HostProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                host._lines.Enqueue(new OutputLine(e.Data, host._clock.Elapsed, StdErr: false));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                host._lines.Enqueue(new OutputLine(e.Data, host._clock.Elapsed, StdErr: true));
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Runs <c>fsm2-edge</c> to completion (bounded) and returns the exit code and the stdout lines.</summary>
    public static (int Code, string[] Out, string[] Err) Run(params string[] args)
    {
        using HostProcess host = Start(null, args);
        host.WaitForExit(TimeSpan.FromSeconds(60));
        return (host.ExitCode, [.. host.Lines.Where(l => !l.StdErr).Select(l => l.Text)], [.. host.Lines.Where(l => l.StdErr).Select(l => l.Text)]);
    }

    /// <summary>Waits (bounded) for the first line matching <paramref name="match"/>; fails if the process exits first.</summary>
    public OutputLine WaitForLine(Func<OutputLine, bool> match, string what, TimeSpan? timeout = null)
    {
        OutputLine? found = null;
        Wait.Until(() => (found = _lines.FirstOrDefault(match)) is not null || _process.HasExited, what, timeout ?? TimeSpan.FromSeconds(30));
        found ??= _lines.FirstOrDefault(match); // the line may have been read just before the exit was seen.
        return found ?? throw new Xunit.Sdk.XunitException($"fsm2-edge exited before {what}:\n{Transcript}");
    }

    /// <summary>Waits (bounded) for the JSON log event <paramref name="eventName"/>.</summary>
    public OutputLine WaitForEvent(string eventName, TimeSpan? timeout = null) =>
        WaitForLine(l => l.Event == eventName, "log event " + eventName, timeout);

    /// <summary>Waits (bounded) for the exit, then for the output readers to drain.</summary>
    public void WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            throw new TimeoutException($"fsm2-edge still running after {timeout}:\n{Transcript}");
        }

        _process.WaitForExit(); // drains the asynchronous stdout and stderr readers.
    }

    /// <summary>Sends <paramref name="signal"/> (<c>TERM</c>, <c>INT</c>) to the process by its PID.</summary>
    public void Signal(string signal)
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-s", signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })
            ?? throw new InvalidOperationException("could not start kill");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }
}
