using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Host;

/// <summary>Host events (EventIds 7100–7199 of the config/host range; category <c>Fsm2.Edge.Runtime</c>).</summary>
internal static partial class HostLog
{
    [LoggerMessage(7101, LogLevel.Information, "runtime_starting runtime={Runtime} version={Version} config={Config} profile={Profile}", EventName = "runtime_starting")]
    public static partial void RuntimeStarting(ILogger logger, string runtime, string version, string config, string profile);

    [LoggerMessage(7102, LogLevel.Information, "runtime_started nodes={Nodes} tick_interval_ms={TickIntervalMs} action_threads={ActionThreads} ring_capacity={RingCapacity} startup_ms={StartupMs}", EventName = "runtime_started")]
    public static partial void RuntimeStarted(ILogger logger, int nodes, double tickIntervalMs, int actionThreads, int ringCapacity, double startupMs);

    [LoggerMessage(7103, LogLevel.Information, "shutdown_requested signal={Signal} budget_ms={BudgetMs}", EventName = "shutdown_requested")]
    public static partial void ShutdownRequested(ILogger logger, string signal, double budgetMs);

    [LoggerMessage(7104, LogLevel.Warning, "shutdown_forced signal={Signal}", EventName = "shutdown_forced")]
    public static partial void ShutdownForced(ILogger logger, string signal);

    [LoggerMessage(7106, LogLevel.Error, "host_failed message={Message}", EventName = "host_failed")]
    public static partial void HostFailed(ILogger logger, string message, Exception exception);
}
