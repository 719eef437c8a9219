using System.Globalization;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Host.Demo;

/// <summary>
/// <c>fsm2-edge demo</c> (50-runtime-monitoring §2.1, §2.3): <c>run</c> on the built-in configuration of
/// <see cref="DemoConfig"/> (embedded broker, N simulated presses, N protocol converters bridging them to the UNS), with
/// the live status table of <see cref="DemoTable"/>: redrawn in place every second on a terminal, printed every 5 s
/// without escape codes with <c>--plain</c> or when stdout is not a terminal. Needs nothing on disk but the host and
/// its <c>hw-profiles/</c> folder. Exit codes as <c>run</c> (§2.2): 0 after a clean drain, 1 when the broker cannot
/// bind, 2 for a bad option or profile, 3 after an unclean shutdown.
/// </summary>
internal static class DemoCommand
{
    /// <summary>Redraw period on a terminal: 1 s (§2.3).</summary>
    public static readonly TimeSpan TerminalPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Print period in plain mode: 5 s (§2.3).</summary>
    public static readonly TimeSpan PlainPeriod = TimeSpan.FromSeconds(5);

    /// <summary><c>--faults</c>: a simulator is stopped every 30 s (§2.1) ...</summary>
    public static readonly TimeSpan FaultPeriod = TimeSpan.FromSeconds(30);

    /// <summary>... for 10 s (§2.1), long enough for its converter to turn degraded and the table to show it.</summary>
    public static readonly TimeSpan FaultLength = TimeSpan.FromSeconds(10);

    /// <summary>Runs the demo until a signal or <see cref="DemoOptions.Duration"/>; returns the exit code.</summary>
    /// <param name="options">The demo's options.</param>
    /// <param name="output">stdout: logs and the table.</param>
    /// <param name="error">stderr: findings and usage errors.</param>
    /// <param name="signals">SIGINT/SIGTERM; <c>--duration</c> requests the same graceful stop.</param>
    /// <param name="terminal">Whether <paramref name="output"/> is a terminal (the table is then redrawn in place).</param>
    /// <param name="time">The clock of the table, the duration and the faults.</param>
    public static async Task<int> RunAsync(DemoOptions options, TextWriter output, TextWriter error, HostSignals signals, bool terminal,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        time ??= TimeProvider.System;
        if (options.Devices is < DemoOptions.MinDevices or > DemoOptions.MaxDevices)
        {
            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"--devices must be {DemoOptions.MinDevices}-{DemoOptions.MaxDevices} (got {options.Devices})")).ConfigureAwait(false);
            return ExitCodes.UsageOrConfig;
        }

        if (options.Port is < 0 or > 65_535)
        {
            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"--port must be 0-65535 (got {options.Port}); 0 picks free ports")).ConfigureAwait(false);
            return ExitCodes.UsageOrConfig;
        }

        (int brokerPort, int[] devicePorts) = DemoConfig.Ports(options.Port, options.Devices);
        string yaml = DemoConfig.Build(brokerPort, devicePorts);
        if (options.PrintConfig)
        {
            await output.WriteAsync(yaml).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
            return ExitCodes.Success;
        }

        bool inPlace = terminal && !options.Plain;
        using var console = new DemoConsole(output, inPlace, inPlace ? TerminalWidth() : 0);
        using var metrics = new DemoMetrics();
        var started = new TaskCompletionSource<HostStarted>(TaskCreationOptions.RunContinuationsAsynchronously);
        using ITimer? stopAfter = options.Duration is { } duration
            ? time.CreateTimer(static s => ((HostSignals)s!).Request("duration"), signals, duration, Timeout.InfiniteTimeSpan)
            : null;

        Task<int> run = EdgeHost.RunAsync(
            new HostOptions
            {
                ConfigFile = DemoConfig.FileName,
                ConfigText = yaml,
                Profile = options.Profile,
                NoWatch = true,
                Time = time,
                Out = console,
                Error = error,
                Started = s => started.TrySetResult(s),
            },
            signals);

        if (await Task.WhenAny(started.Task, run).ConfigureAwait(false) == run)
        {
            return await run.ConfigureAwait(false);
        }

        HostStarted host = await started.Task.ConfigureAwait(false);
        using ITimer? faults = options.Faults ? StartFaults(host.Runtime, options.Devices, time) : null;
        await DrawUntilStoppedAsync(host, run, console, metrics, inPlace ? TerminalPeriod : PlainPeriod, time).ConfigureAwait(false);
        console.Release();
        return await run.ConfigureAwait(false);
    }

    private static async Task DrawUntilStoppedAsync(HostStarted host, Task<int> run, DemoConsole console, DemoMetrics metrics, TimeSpan period,
        TimeProvider time)
    {
        SupervisorRuntime runtime = host.Runtime;
        DemoSample previous = metrics.Sample();
        long previousAt = time.GetTimestamp();
        long startedAt = previousAt;
        using var timer = new PeriodicTimer(period, time);
        while (true)
        {
            Task<bool> tick = timer.WaitForNextTickAsync().AsTask();
            bool stopped = await Task.WhenAny(tick, run).ConfigureAwait(false) == run;

            // After the drain every node is finalized and the status is empty: the last table drawn stays on screen,
            // and the shutdown log lines follow it.
            RuntimeStatus status = runtime.Status;
            if (stopped && status.Nodes.Count == 0)
            {
                return;
            }

            DemoSample current = metrics.Sample();
            long now = time.GetTimestamp();
            var frame = new DemoTable.Frame(host.BrokerEndpoint, host.Config.Profile.Name, time.GetElapsedTime(startedAt, now), runtime.TickCount,
                runtime.Options.ActionQueueCapacity, time.GetElapsedTime(previousAt, now), previous, current);
            console.DrawTable(DemoTable.Render(status, frame));
            previous = current;
            previousAt = now;
            if (stopped)
            {
                return;
            }
        }
    }

    // --faults: every FaultPeriod the next simulator in turn is overridden to 'stopped' for FaultLength, through the
    // runtime's lock-free desired-state command; its converter's connection then fails and the converter degrades.
    private static ITimer StartFaults(SupervisorRuntime runtime, int devices, TimeProvider time)
    {
        int next = 0;
        ITimer? restore = null;
        return time.CreateTimer(_ =>
        {
            string path = "devices/sim-" + DemoConfig.Device((next++ % devices) + 1);
            runtime.SetDesiredStateOverride(path, "stopped");
            restore?.Dispose();
            restore = time.CreateTimer(p => runtime.SetDesiredStateOverride((string)p!, null), path, FaultLength, Timeout.InfiniteTimeSpan);
        }, null, FaultPeriod, FaultPeriod);
    }

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (Exception ex) when (ex is IOException or PlatformNotSupportedException or InvalidOperationException)
        {
            // No console size to read: lines are not cut.
            return 0;
        }
    }
}
