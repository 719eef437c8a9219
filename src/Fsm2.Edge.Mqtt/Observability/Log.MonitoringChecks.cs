using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Observability;

/// <summary>
/// Log events of the monitoring publisher's checks on its own topics (EventIds 8700–8799): the orphan sweep of retained
/// statuses (shared/spec/50-runtime-monitoring.md §6.7), the runtime id conflict (§12) and the workers' <c>observed</c>
/// status summaries (§6.3).
/// </summary>
internal static partial class Log
{
    [LoggerMessage(8701, LogLevel.Information, "status_orphans_cleared count={Count}: retained statuses of nodes not in the tree were cleared", EventName = "status_orphans_cleared")]
    public static partial void StatusOrphansCleared(ILogger logger, int count);

    [LoggerMessage(8702, LogLevel.Debug, "status_orphan_sweep_started filter={Filter} window_ms={WindowMs}", EventName = "status_orphan_sweep_started")]
    public static partial void StatusOrphanSweepStarted(ILogger logger, string filter, double windowMs);

    [LoggerMessage(8703, LogLevel.Debug, "status_orphan_sweep_abandoned reason={Reason}: nothing was cleared", EventName = "status_orphan_sweep_abandoned")]
    public static partial void StatusOrphanSweepAbandoned(ILogger logger, string reason);

    [LoggerMessage(8704, LogLevel.Debug, "status_orphan_cleared node={Node}", EventName = "status_orphan_cleared")]
    public static partial void StatusOrphanCleared(ILogger logger, string node);

    [LoggerMessage(8710, LogLevel.Error, "runtime_id_conflict runtime={Runtime} other_instance={OtherInstance} evidence={Evidence}: another process runs with this runtime id on the broker; this one keeps running and reconnects only on its normal backoff", EventName = "runtime_id_conflict")]
    public static partial void RuntimeIdConflict(ILogger logger, string runtime, string otherInstance, string evidence);

    // Rate-limited per node by the publisher (first failure, then at most one line per minute); suppressed = failures of
    // the node not logged since its previous line.
    [LoggerMessage(8720, LogLevel.Warning, "status_observed_failed node={Node} worker_type={WorkerType} suppressed={Suppressed}: the worker's status writer threw ({Message}); observed is null in this status", EventName = "status_observed_failed")]
    public static partial void StatusObservedFailed(ILogger logger, string node, string workerType, int suppressed, string message);
}
