using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Observability;

/// <summary>
/// Every log event of the MQTT layer, source-generated so nothing is allocated when a level is off. EventIds 8000–8999:
/// 8000s embedded broker, 8100s client connections, 8200s the MQTT round-trip probe. Event names follow
/// shared/spec/50-runtime-monitoring.md §9.2 where it names them.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(8001, LogLevel.Information, "broker_started mode=embedded endpoint={Endpoint} max_pending_per_client={MaxPendingPerClient}", EventName = "broker_started")]
    public static partial void BrokerStarted(ILogger logger, string endpoint, int maxPendingPerClient);

    [LoggerMessage(8002, LogLevel.Information, "broker_stopped mode=embedded endpoint={Endpoint} overwritten={Overwritten}", EventName = "broker_stopped")]
    public static partial void BrokerStopped(ILogger logger, string endpoint, long overwritten);

    [LoggerMessage(8003, LogLevel.Warning, "embedded_broker_exposed bind={Bind}: the embedded broker has no authentication and listens beyond loopback", EventName = "embedded_broker_exposed")]
    public static partial void EmbeddedBrokerExposed(ILogger logger, string bind);

    [LoggerMessage(8004, LogLevel.Warning, "broker_queue_overwrite client={Client} count={Count}: a subscriber's pending queue overflowed and its oldest messages were dropped", EventName = "broker_queue_overwrite")]
    public static partial void BrokerQueueOverwrite(ILogger logger, string client, long count);

    [LoggerMessage(8005, LogLevel.Warning, "broker_port_retry port={Port}: the reserved port was taken before the broker bound it; trying another", EventName = "broker_port_retry")]
    public static partial void BrokerPortRetry(ILogger logger, int port);

    [LoggerMessage(8101, LogLevel.Information, "mqtt_connected client={Client} endpoint={Endpoint}", EventName = "mqtt_connected")]
    public static partial void MqttConnected(ILogger logger, string client, string endpoint);

    [LoggerMessage(8102, LogLevel.Warning, "mqtt_disconnected client={Client} endpoint={Endpoint} reason={Reason}", EventName = "mqtt_disconnected")]
    public static partial void MqttDisconnected(ILogger logger, string client, string endpoint, string reason);

    [LoggerMessage(8103, LogLevel.Debug, "mqtt_connect_failed client={Client} endpoint={Endpoint} reason={Reason}", EventName = "mqtt_connect_failed")]
    public static partial void MqttConnectFailed(ILogger logger, string client, string endpoint, string reason);

    [LoggerMessage(8201, LogLevel.Debug, "probe_run probe={Probe} seq={Seq} outcome={Outcome} rtt_ms={RttMs}", EventName = "probe_run")]
    public static partial void ProbeRun(ILogger logger, string probe, long seq, string outcome, double rttMs);

    [LoggerMessage(8202, LogLevel.Debug, "probe_echo_ignored probe={Probe} topic={Topic} reason={Reason}", EventName = "probe_echo_ignored")]
    public static partial void ProbeEchoIgnored(ILogger logger, string probe, string topic, string reason);

    [LoggerMessage(8203, LogLevel.Warning, "probe_refused probe={Probe} operation={Operation} reason={Reason}", EventName = "probe_refused")]
    public static partial void ProbeRefused(ILogger logger, string probe, string operation, string reason);
}
