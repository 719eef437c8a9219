using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Observability;

/// <summary>Config, hot reload and hardware-profile events (EventIds 7000–7999, category <c>Fsm2.Edge.Config</c>).</summary>
internal static partial class Log
{
    [LoggerMessage(7001, LogLevel.Information, "profile_loaded profile={Profile} file={File} tick_interval_ms={TickIntervalMs} action_threads={ActionThreads} ring_capacity={RingCapacity}", EventName = "profile_loaded")]
    public static partial void ProfileLoaded(ILogger logger, string profile, string file, int tickIntervalMs, int actionThreads, int ringCapacity);

    [LoggerMessage(7002, LogLevel.Warning, "profile_warning profile={Profile} finding={Finding}", EventName = "profile_warning")]
    public static partial void ProfileWarning(ILogger logger, string profile, string finding);

    [LoggerMessage(7010, LogLevel.Information, "config_loaded file={File} generation={Generation} nodes={Nodes} hash={Hash}", EventName = "config_loaded")]
    public static partial void ConfigLoaded(ILogger logger, string file, long generation, int nodes, string hash);

    [LoggerMessage(7011, LogLevel.Information, "config_reload_applied file={File} generation={Generation} added={Added} updated={Updated} replaced={Replaced} removed={Removed} unchanged={Unchanged} node_errors={NodeErrors} duration_ms={DurationMs}", EventName = "config_reload_applied")]
    public static partial void ConfigReloadApplied(ILogger logger, string file, long generation, int added, int updated, int replaced, int removed, int unchanged, int nodeErrors, double durationMs);

    [LoggerMessage(7012, LogLevel.Error, "config_reload_rejected file={File} errors={Errors}", EventName = "config_reload_rejected")]
    public static partial void ConfigReloadRejected(ILogger logger, string file, string errors);

    [LoggerMessage(7013, LogLevel.Debug, "config_reload_unchanged file={File} hash={Hash}", EventName = "config_reload_unchanged")]
    public static partial void ConfigReloadUnchanged(ILogger logger, string file, string hash);

    [LoggerMessage(7014, LogLevel.Warning, "config_restart_required file={File} fields={Fields}", EventName = "config_restart_required")]
    public static partial void ConfigRestartRequired(ILogger logger, string file, string fields);

    [LoggerMessage(7015, LogLevel.Warning, "config_warning file={File} finding={Finding}", EventName = "config_warning")]
    public static partial void ConfigWarning(ILogger logger, string file, string finding);

    [LoggerMessage(7016, LogLevel.Error, "config_watch_failed file={File} message={Message}", EventName = "config_watch_failed")]
    public static partial void ConfigWatchFailed(ILogger logger, string file, string message, Exception? exception);
}
