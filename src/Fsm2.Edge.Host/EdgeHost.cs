using Fsm2.Edge.Config;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Host;

/// <summary>
/// <c>fsm2-edge run</c> in-process (50-runtime-monitoring §1, §2.4, §10): load the profile and the config, start the
/// runtime with the configured tree, hot-reload the file, and drain gracefully on the first signal within the
/// profile's shutdown budget. MQTT (broker, status, metrics) joins this sequence with the monitoring work.
/// </summary>
internal static class EdgeHost
{
    /// <summary>Runs until <paramref name="signals"/> stops it.</summary>
    /// <returns>The exit code (§2.2).</returns>
    public static async Task<int> RunAsync(HostOptions options, HostSignals signals)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(signals);
        TimeProvider time = options.Time;
        long started = time.GetTimestamp();

        // Step 1: profile and config; any error prints every finding and exits 2 (1 when the profile directory is unreadable).
        var groups = new GroupChildrenTable();
        WorkerFactory registry = HostEnvironment.CreateRegistry(groups);
        ConfigLoadOptions load = HostEnvironment.LoadOptions(registry, options.ProfilesDirectory, options.Profile, options.Broker);
        ConfigLoadResult result = ConfigLoader.LoadFile(options.ConfigFile, load);
        if (!result.Succeeded)
        {
            foreach (ConfigFinding finding in result.Findings)
            {
                await options.Error.WriteLineAsync(finding.ToString()).ConfigureAwait(false);
            }

            return result.RuntimeFailure ? ExitCodes.RuntimeFailure : ExitCodes.UsageOrConfig;
        }

        EdgeConfig config = result.Config;
        string levelText = options.LogLevel ?? config.Runtime.LogLevel;
        using ILoggerFactory loggers = LoggerFactory.Create(b =>
        {
            b.AddProvider(new TextWriterLoggerProvider(options.Out, options.LogFormat == "json", time));
            b.SetMinimumLevel(ParseLevel(levelText));
            foreach (KeyValuePair<string, string> category in config.Runtime.LogLevels)
            {
                b.AddFilter(category.Key, ParseLevel(category.Value));
            }
        });
        ILogger runtimeLog = loggers.CreateLogger("Fsm2.Edge.Runtime");
        ILogger configLog = loggers.CreateLogger("Fsm2.Edge.Config");
        HostLog.RuntimeStarting(runtimeLog, config.Runtime.Id, HostEnvironment.Version, config.File, config.Profile.Name);

        // Re-read the profile with the logger so profile_loaded and its warnings reach the log.
        HardwareProfileLoader.LoadFile(config.Profile.SourceFile, logger: configLog);
        RuntimeOptions runtimeOptions = HardwareProfileLoader.ApplyTo(config.Profile, new RuntimeOptions());
        if (config.Runtime.MetricsInterval is { } metricsInterval)
        {
            runtimeOptions = runtimeOptions with { MetricsInterval = metricsInterval };
        }

        SupervisorRuntime runtime;
        try
        {
            runtime = new SupervisorRuntime(registry, runtimeOptions, time, loggers);
        }
        catch (ArgumentException ex)
        {
            await options.Error.WriteLineAsync($"{config.Profile.SourceFile}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.UsageOrConfig;
        }

        await using (runtime.ConfigureAwait(false))
        {
            using var watcher = new ConfigWatcher(config, load, runtime, groups, time, configLog);
            watcher.ApplyInitial();
            if (!options.NoWatch)
            {
                watcher.Start();
            }

            runtime.Start();
            HostLog.RuntimeStarted(runtimeLog, config.NodeCount, runtimeOptions.TickInterval.TotalMilliseconds, runtimeOptions.ActionThreads,
                runtimeOptions.ActionQueueCapacity, time.GetElapsedTime(started).TotalMilliseconds);

            // The tick loop is never driven by the stopping token (a Go-original defect): the signal only starts the drain.
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (signals.Stopping.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), stopped).ConfigureAwait(false))
            {
                await Task.WhenAny(stopped.Task, runtime.Completion).ConfigureAwait(false);
            }

            if (runtime.Completion.IsFaulted)
            {
                // The tick thread stopped on an invariant violation (10-core-hierarchy): fail fast.
                HostLog.HostFailed(runtimeLog, runtime.Completion.Exception?.InnerException?.Message ?? "tick thread failed", runtime.Completion.Exception!);
                return ExitCodes.InvariantViolation;
            }

            HostLog.ShutdownRequested(runtimeLog, signals.FirstSignal ?? "stop", config.Profile.Shutdown.BudgetMs);
            watcher.Dispose();
            ShutdownResult shutdown;
            CancellationTokenRegistration forced = signals.Force.Register(
                static s => HostLog.ShutdownForced((ILogger)s!, "second signal"), runtimeLog);
            await using (forced.ConfigureAwait(false))
            {
                shutdown = await runtime.ShutdownAsync(signals.Force).ConfigureAwait(false);
            }

            // shutdown_completed is logged by the runtime's shutdown itself.
            return shutdown.Clean && !signals.Force.IsCancellationRequested ? ExitCodes.Success : ExitCodes.UncleanShutdown;
        }
    }

    /// <summary>The log levels of §2.1: trace, debug, info, warning, error.</summary>
    public static LogLevel ParseLevel(string level) => level switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => LogLevel.Information,
    };
}
