using System.Net.Sockets;
using Fsm2.Edge.Config;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Globals;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Probes;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Host;

/// <summary>
/// <c>fsm2-edge run</c> in-process (50-runtime-monitoring §1, §2.4, §10): load the profile and the config, start the
/// runtime with the configured tree, hot-reload the file, and drain gracefully on the first signal within the
/// profile's shutdown budget, with the embedded or external broker, the <c>mon</c> and <c>data</c> clients, the
/// monitoring publisher (runtime state, node status, metrics), the <c>mqtt</c> probe type and fleet Global variables.
/// </summary>
internal static class EdgeHost
{
    /// <summary>Shutdown step 4's bound on the final publications: the 0.5 s the drain leaves for them (§10).</summary>
    private static readonly TimeSpan s_finalWait = TimeSpan.FromMilliseconds(500);

    /// <summary>After a forced exit (second signal) or a failure only the offline marker is tried, for 250 ms (§10).</summary>
    private static readonly TimeSpan s_forcedFinalWait = TimeSpan.FromMilliseconds(250);

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
        var pack = new PackWiring();
        WorkerFactory registry = HostEnvironment.CreateRegistry(groups, pack, time);
        ConfigLoadOptions load = HostEnvironment.LoadOptions(registry, options.ProfilesDirectory, options.Profile, options.Broker);
        ConfigLoadResult result = options.ConfigText is { } text
            ? ConfigLoader.Parse(text, options.ConfigFile, load)
            : ConfigLoader.LoadFile(options.ConfigFile, load);
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
            // Steps 2-3: the embedded broker (bind failure: exit 1) and the mon/data clients (an unreachable external
            // broker is not fatal).
            HostMqtt mqtt;
            try
            {
                mqtt = await HostMqtt.StartAsync(config, runtimeOptions, time, loggers, signals.Stopping).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                HostLog.HostFailed(runtimeLog, $"embedded broker cannot bind {config.Runtime.EmbeddedBind}:{config.Runtime.EmbeddedPort}: {ex.Message}", ex);
                return ExitCodes.RuntimeFailure;
            }
            catch (BrokerConfigException ex)
            {
                await options.Error.WriteLineAsync($"{config.File}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.UsageOrConfig;
            }

            // Disposed last: the clients disconnect normally (no will), then the embedded broker stops (§10 step 5).
            await using (mqtt.ConfigureAwait(false))
            {
                return await RunWithMqttAsync(options, signals, config, load, runtime, runtimeOptions, groups, mqtt, pack, loggers, started).ConfigureAwait(false);
            }
        }
    }

    private static async Task<int> RunWithMqttAsync(HostOptions options, HostSignals signals, EdgeConfig config, ConfigLoadOptions load,
        SupervisorRuntime runtime, RuntimeOptions runtimeOptions, GroupChildrenTable groups, HostMqtt mqtt, PackWiring pack, ILoggerFactory loggers,
        long started)
    {
        TimeProvider time = options.Time;
        ILogger runtimeLog = loggers.CreateLogger("Fsm2.Edge.Runtime");
        ILogger configLog = loggers.CreateLogger("Fsm2.Edge.Config");
        var publisher = new MonitoringPublisher(runtime, mqtt.Mon, mqtt.Monitoring, time, loggers);
        await using (publisher.ConfigureAwait(false))
        {
            runtime.AddMqttProbes(mqtt.ProbeDefaults(loggers));

            // Step 4: 'starting' now if mon is connected; otherwise the first publication after it connects.
            publisher.Start();
            await WaitForStartingAsync(publisher, mqtt, time).ConfigureAwait(false);
            using var watcher = new ConfigWatcher(config, load, runtime, groups, time, configLog);

            // The worker pack publishes and subscribes through the data client and reads the running config's templates.
            pack.Attach(mqtt.Data, loggers, () => watcher.Current);
            watcher.Reloaded += _ =>
            {
                publisher.SetConfigInfo(ConfigInfo(watcher));
                EdgeConfig current = watcher.Current;
                publisher.SetIntervals(
                    current.Runtime.MetricsInterval ?? TimeSpan.FromMilliseconds(current.Profile.Metrics.IntervalMs),
                    current.Runtime.HeartbeatInterval ?? TimeSpan.FromMilliseconds(current.Profile.Status.HeartbeatMs));
            };
            watcher.ApplyInitial();
            publisher.SetConfigInfo(ConfigInfo(watcher));

            // Step 5: fleet Global variables, waiting for the retained value so the first derive sees them.
            using FleetGlobals? fleet = config.Runtime.Fleet is { } fleetSection
                ? new FleetGlobals(runtime, mqtt.Mon, fleetSection.GlobalTopic, publisher, loggers)
                : null;
            if (fleet is not null)
            {
                TimeSpan wait = config.Runtime.Fleet!.WaitForGlobal;
                publisher.SetGlobalInfo("file", "");
                fleet.Start(wait);
                await fleet.WaitForFirstAsync(wait, time, signals.Stopping).ConfigureAwait(false);
            }

            if (!options.NoWatch && options.ConfigText is null)
            {
                watcher.Start();
            }

            // Steps 6-7: start the runtime; the publisher publishes every node's status as it appears, then 'online'.
            runtime.Start();
            publisher.MarkOnline();
            HostLog.RuntimeStarted(runtimeLog, config.NodeCount, runtimeOptions.TickInterval.TotalMilliseconds, runtimeOptions.ActionThreads,
                runtimeOptions.ActionQueueCapacity, time.GetElapsedTime(started).TotalMilliseconds);
            options.Started?.Invoke(new HostStarted(runtime, config, mqtt.Endpoint.ToString(), time.GetUtcNow()));

            // The tick loop is never driven by the stopping token (a Go-original defect): the signal only starts the drain.
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (signals.Stopping.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), stopped).ConfigureAwait(false))
            {
                await Task.WhenAny(stopped.Task, runtime.Completion).ConfigureAwait(false);
            }

            if (runtime.Completion.IsFaulted)
            {
                // The tick thread stopped on an invariant violation (10-core-hierarchy): fail fast, but say so on the
                // runtime state topic rather than leaving 'online' behind.
                HostLog.HostFailed(runtimeLog, runtime.Completion.Exception?.InnerException?.Message ?? "tick thread failed", runtime.Completion.Exception!);
                using var failDeadline = new CancellationTokenSource(s_forcedFinalWait, time);
                await publisher.StopAsync(clean: false, failDeadline.Token).ConfigureAwait(false);
                return ExitCodes.InvariantViolation;
            }

            // §10 step 1: stopping, no more reloads or Global updates.
            HostLog.ShutdownRequested(runtimeLog, signals.FirstSignal ?? "stop", config.Profile.Shutdown.BudgetMs);
            publisher.MarkStopping();
            watcher.Dispose();
            fleet?.Stop();

            // Steps 2-3: the drain (the runtime reserves the last 0.5 s of the budget for step 4).
            ShutdownResult shutdown;
            CancellationTokenRegistration forced = signals.Force.Register(
                static s => HostLog.ShutdownForced((ILogger)s!, "second signal"), runtimeLog);
            await using (forced.ConfigureAwait(false))
            {
                shutdown = await runtime.ShutdownAsync(signals.Force).ConfigureAwait(false);
            }

            // Step 4: final statuses, metrics and offline/shutdown; the clients then disconnect normally (no will) and
            // the embedded broker stops last (HostMqtt.DisposeAsync). shutdown_completed is the runtime's own event.
            bool clean = shutdown.Clean && !signals.Force.IsCancellationRequested;
            using var finalDeadline = new CancellationTokenSource(signals.Force.IsCancellationRequested ? s_forcedFinalWait : s_finalWait, time);
            await publisher.StopAsync(clean, forced: signals.Force.IsCancellationRequested, finalDeadline.Token).ConfigureAwait(false);
            return clean ? ExitCodes.Success : ExitCodes.UncleanShutdown;
        }
    }

    // Step 4: when mon is connected, let 'starting' reach the broker before 'online' replaces it (the publisher pumps
    // asynchronously). Bounded by s_finalWait; nothing waits when mon is down, since then 'online' is the first state.
    private static async Task WaitForStartingAsync(MonitoringPublisher publisher, HostMqtt mqtt, TimeProvider time)
    {
        long started = time.GetTimestamp();
        while (mqtt.Mon.IsConnected && publisher.HeartbeatSequence == 0 && time.GetElapsedTime(started) < s_finalWait)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), time).ConfigureAwait(false);
        }
    }

    private static MonitoringConfigInfo ConfigInfo(ConfigWatcher watcher) => new(
        watcher.Generation,
        watcher.Current.ContentHash,
        watcher.File,
        RestartRequired: watcher.RestartRequiredFields.Count > 0,
        RejectedHash: watcher.LastError?.ContentHash,
        LastError: watcher.LastError?.Message);

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
