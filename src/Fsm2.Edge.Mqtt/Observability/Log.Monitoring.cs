using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Observability;

/// <summary>
/// Log events of the MQTT client seam and the monitoring publisher. EventIds 8300–8999: 8300s the client seam, 8400s
/// monitoring (8500s unused: <c>global_variables_updated</c> and <c>global_update_rejected</c> are the runtime's own
/// events, logged where the payload is validated and applied; fleet subscription events are in the 8600s). Names follow
/// shared/spec/50-runtime-monitoring.md §9.2.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(8301, LogLevel.Error, "mqtt_handler_failed client={Client} filter={Filter} topic={Topic}: a route handler threw; the message is dropped for that route", EventName = "mqtt_handler_failed")]
    public static partial void MqttHandlerFailed(ILogger logger, string client, string filter, string topic, Exception exception);

    [LoggerMessage(8302, LogLevel.Debug, "mqtt_reconnect_scheduled client={Client} endpoint={Endpoint} delay_ms={DelayMs} attempt={Attempt}", EventName = "mqtt_reconnect_scheduled")]
    public static partial void MqttReconnectScheduled(ILogger logger, string client, string endpoint, double delayMs, int attempt);

    [LoggerMessage(8303, LogLevel.Warning, "mqtt_subscribe_failed client={Client} filter={Filter} reason={Reason}", EventName = "mqtt_subscribe_failed")]
    public static partial void MqttSubscribeFailed(ILogger logger, string client, string filter, string reason);

    [LoggerMessage(8401, LogLevel.Debug, "monitoring_publish_failed topic={Topic} reason={Reason}", EventName = "monitoring_publish_failed")]
    public static partial void MonitoringPublishFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(8402, LogLevel.Debug, "status_cleared node={Node}: removed from the declaration; its retained status is cleared", EventName = "status_cleared")]
    public static partial void StatusCleared(ILogger logger, string node);

    [LoggerMessage(8403, LogLevel.Debug, "monitoring_republished nodes={Nodes}: runtime state and every node status after a (re)connect", EventName = "monitoring_republished")]
    public static partial void MonitoringRepublished(ILogger logger, int nodes);

    [LoggerMessage(8404, LogLevel.Error, "monitoring_pump_failed: {Message}", EventName = "monitoring_pump_failed")]
    public static partial void MonitoringPumpFailed(ILogger logger, string message, Exception exception);
}
