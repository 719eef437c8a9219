using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Observability;

/// <summary>
/// Every log event of the runtime library, source-generated so nothing is allocated when a level is off.
/// EventId ranges: 1000s supervision, 2000s reconciliation (tree), 3000s collection, 4000s actions.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "state_transition node={Node} from={From} to={To} reason={Reason}", EventName = "state_transition")]
    public static partial void StateTransition(ILogger logger, string node, string from, string to, string reason);

    [LoggerMessage(1002, LogLevel.Warning, "derive_failed node={Node} message={Message}", EventName = "derive_failed")]
    public static partial void DeriveFailed(ILogger logger, string node, string message, Exception? exception);

    [LoggerMessage(1003, LogLevel.Error, "tick_panic node={Node} site={Site} class={Class} type={Type} exception={Message}", EventName = "tick_panic")]
    public static partial void TickPanic(ILogger logger, string node, string site, string @class, string type, string message, Exception exception);

    [LoggerMessage(1004, LogLevel.Warning, "observation_stale node={Node} age_ms={AgeMs}", EventName = "observation_stale")]
    public static partial void ObservationStale(ILogger logger, string node, double ageMs);

    [LoggerMessage(1005, LogLevel.Information, "observation_fresh node={Node} age_ms={AgeMs}", EventName = "observation_fresh")]
    public static partial void ObservationFresh(ILogger logger, string node, double ageMs);

    [LoggerMessage(1006, LogLevel.Warning, "collector_restarted node={Node} restarts={Restarts}", EventName = "collector_restarted")]
    public static partial void CollectorRestarted(ILogger logger, string node, int restarts);

    [LoggerMessage(1007, LogLevel.Error, "collector_escalated node={Node} restarts={Restarts}: requesting graceful shutdown", EventName = "collector_escalated")]
    public static partial void CollectorEscalated(ILogger logger, string node, int restarts);

    [LoggerMessage(1008, LogLevel.Information, "collector_recovered node={Node} restarts={Restarts}", EventName = "collector_recovered")]
    public static partial void CollectorRecovered(ILogger logger, string node, int restarts);

    [LoggerMessage(1009, LogLevel.Information, "shutdown_requested node={Node} reason={Reason}", EventName = "shutdown_requested")]
    public static partial void ShutdownRequested(ILogger logger, string node, string reason);

    [LoggerMessage(1010, LogLevel.Critical, "invariant_violation message={Message}", EventName = "invariant_violation")]
    public static partial void InvariantViolation(ILogger logger, string message, Exception exception);

    [LoggerMessage(1011, LogLevel.Error, "shutdown_budget_exceeded budget_ms={BudgetMs} nodes={Nodes}", EventName = "shutdown_budget_exceeded")]
    public static partial void ShutdownBudgetExceeded(ILogger logger, double budgetMs, string nodes);

    [LoggerMessage(1012, LogLevel.Information, "shutdown_completed duration_ms={DurationMs} clean={Clean} forced_nodes={ForcedNodes}", EventName = "shutdown_completed")]
    public static partial void ShutdownCompleted(ILogger logger, double durationMs, bool clean, int forcedNodes);

    [LoggerMessage(1013, LogLevel.Warning, "tick_overrun duration_us={DurationUs} interval_ms={IntervalMs}", EventName = "tick_overrun")]
    public static partial void TickOverrun(ILogger logger, double durationUs, double intervalMs);

    [LoggerMessage(1014, LogLevel.Warning, "config_update_ignored: the runtime is shutting down", EventName = "config_update_ignored")]
    public static partial void ConfigUpdateIgnored(ILogger logger);

    [LoggerMessage(1015, LogLevel.Warning, "restart_forced node={Node}: the restart did not finish within {TimeoutS} s; back to the initial state", EventName = "restart_forced")]
    public static partial void RestartForced(ILogger logger, string node, double timeoutS);

    [LoggerMessage(2001, LogLevel.Information, "node_added node={Node} worker_type={WorkerType}", EventName = "node_added")]
    public static partial void NodeAdded(ILogger logger, string node, string workerType);

    [LoggerMessage(2002, LogLevel.Information, "node_updated node={Node} worker_type={WorkerType}", EventName = "node_updated")]
    public static partial void NodeUpdated(ILogger logger, string node, string workerType);

    [LoggerMessage(2003, LogLevel.Information, "node_removing node={Node} worker_type={WorkerType} reason={Reason}", EventName = "node_removing")]
    public static partial void NodeRemoving(ILogger logger, string node, string workerType, string reason);

    [LoggerMessage(2004, LogLevel.Information, "node_removed node={Node} worker_type={WorkerType} reason={Reason} final_state={FinalState} duration_ms={DurationMs}", EventName = "node_removed")]
    public static partial void NodeRemoved(ILogger logger, string node, string workerType, string reason, string finalState, double durationMs);

    [LoggerMessage(2005, LogLevel.Error, "node_removal_forced node={Node} timeout_s={TimeoutS} state={State}", EventName = "node_removal_forced")]
    public static partial void NodeRemovalForced(ILogger logger, string node, double timeoutS, string state);

    [LoggerMessage(2006, LogLevel.Information, "node_removal_cancelled node={Node} reason=reappeared", EventName = "node_removal_cancelled")]
    public static partial void NodeRemovalCancelled(ILogger logger, string node);

    [LoggerMessage(2007, LogLevel.Error, "child_create_failed node={Node} child={Child} worker_type={WorkerType} reason={Reason}", EventName = "child_create_failed")]
    public static partial void ChildCreateFailed(ILogger logger, string node, string child, string workerType, string reason);

    [LoggerMessage(2008, LogLevel.Warning, "node_restart node={Node} reason={Reason}", EventName = "node_restart")]
    public static partial void NodeRestart(ILogger logger, string node, string reason);

    [LoggerMessage(2009, LogLevel.Information, "node_replaced node={Node} from_type={FromType} to_type={ToType}", EventName = "node_replaced")]
    public static partial void NodeReplaced(ILogger logger, string node, string fromType, string toType);

    [LoggerMessage(2010, LogLevel.Debug, "child_deferred node={Node} child={Child}: name still held by a removing node", EventName = "child_deferred")]
    public static partial void ChildDeferred(ILogger logger, string node, string child);

    [LoggerMessage(3001, LogLevel.Warning, "collection_failed node={Node} result={Result} message={Message}", EventName = "collection_failed")]
    public static partial void CollectionFailed(ILogger logger, string node, string result, string message, Exception? exception);

    [LoggerMessage(3002, LogLevel.Error, "collector_stuck node={Node}: the stopped collector loop has not exited after {WaitS} s", EventName = "collector_stuck")]
    public static partial void CollectorStuck(ILogger logger, string node, double waitS);

    [LoggerMessage(4001, LogLevel.Warning, "action_failed node={Node} action={Action} outcome={Outcome} error={Error}", EventName = "action_failed")]
    public static partial void ActionFailed(ILogger logger, string node, string action, string outcome, string error);

    [LoggerMessage(4002, LogLevel.Warning, "action_queue_full node={Node} action={Action} capacity={Capacity}", EventName = "action_queue_full")]
    public static partial void ActionQueueFull(ILogger logger, string node, string action, int capacity);

    [LoggerMessage(4003, LogLevel.Error, "action_shutdown_abandoned count={Count}: actions still running when the executor stopped", EventName = "action_shutdown_abandoned")]
    public static partial void ActionShutdownAbandoned(ILogger logger, int count);

    [LoggerMessage(4004, LogLevel.Error, "action_shutdown_abandoned_action node={Node} action={Action} elapsed_ms={ElapsedMs}: still running after the executor's shutdown wait", EventName = "action_shutdown_abandoned_action")]
    public static partial void ActionShutdownAbandonedAction(ILogger logger, string node, string action, double elapsedMs);

    [LoggerMessage(4005, LogLevel.Warning, "action_ignored_cancellation node={Node} action={Action}: returned normally after its token was cancelled", EventName = "action_ignored_cancellation")]
    public static partial void ActionIgnoredCancellation(ILogger logger, string node, string action);

    [LoggerMessage(4006, LogLevel.Error, "action_cancel_failed node={Node} action={Action} error={Error}: a cancellation callback threw", EventName = "action_cancel_failed")]
    public static partial void ActionCancelFailed(ILogger logger, string node, string action, string error);

    [LoggerMessage(4008, LogLevel.Warning, "action_stuck node={Node} action={Action} age_ms={AgeMs} timeout_ms={TimeoutMs}: still running at twice its timeout", EventName = "action_stuck")]
    public static partial void ActionStuck(ILogger logger, string node, string action, double ageMs, double timeoutMs);

    [LoggerMessage(4009, LogLevel.Error, "action_abandoned node={Node} action={Action} age_ms={AgeMs} timeout_ms={TimeoutMs}: still running at three times its timeout; its completion will be discarded", EventName = "action_abandoned")]
    public static partial void ActionAbandoned(ILogger logger, string node, string action, double ageMs, double timeoutMs);

    [LoggerMessage(4010, LogLevel.Critical, "action_pool_degraded leaked={Leaked} budget={Budget} threads={Threads}: the leak budget is spent; no replacement thread is started", EventName = "action_pool_degraded")]
    public static partial void ActionPoolDegraded(ILogger logger, int leaked, int budget, int threads);

    [LoggerMessage(4007, LogLevel.Trace, "action_duplicate node={Node} action={Action}: an action is already in flight", EventName = "action_duplicate")]
    public static partial void ActionDuplicate(ILogger logger, string node, string action);
}
