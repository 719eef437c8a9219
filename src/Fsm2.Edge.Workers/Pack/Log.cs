using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Workers.Pack;

/// <summary>Log events of the built-in worker pack: EventIds 9000–9999.</summary>
internal static partial class Log
{
    [LoggerMessage(9001, LogLevel.Information, "flow_subscribed node={Node} filter={Filter} qos={Qos}", EventName = "flow_subscribed")]
    public static partial void FlowSubscribed(ILogger logger, string node, string filter, int qos);

    [LoggerMessage(9002, LogLevel.Information, "flow_unsubscribed node={Node} filter={Filter} drained={Drained}", EventName = "flow_unsubscribed")]
    public static partial void FlowUnsubscribed(ILogger logger, string node, string filter, bool drained);

    [LoggerMessage(9003, LogLevel.Debug, "flow_message_dropped node={Node} reason={Reason} topic={Topic} error={Error}", EventName = "flow_message_dropped")]
    public static partial void FlowMessageDropped(ILogger logger, string node, string reason, string topic, string error);

    [LoggerMessage(9010, LogLevel.Information, "simulator_started node={Node} device={Device} tags={Tags} interval_ms={IntervalMs}", EventName = "simulator_started")]
    public static partial void SimulatorStarted(ILogger logger, string node, string device, int tags, long intervalMs);

    [LoggerMessage(9011, LogLevel.Information, "simulator_stopped node={Node} device={Device} published={Published}", EventName = "simulator_stopped")]
    public static partial void SimulatorStopped(ILogger logger, string node, string device, long published);

    [LoggerMessage(9012, LogLevel.Debug, "simulator_write_applied node={Node} tag={Tag} value={Value}", EventName = "simulator_write_applied")]
    public static partial void SimulatorWriteApplied(ILogger logger, string node, string tag, double value);

    [LoggerMessage(9013, LogLevel.Debug, "simulator_publish_failed node={Node} topic={Topic} error={Error}", EventName = "simulator_publish_failed")]
    public static partial void SimulatorPublishFailed(ILogger logger, string node, string topic, string error);
}
