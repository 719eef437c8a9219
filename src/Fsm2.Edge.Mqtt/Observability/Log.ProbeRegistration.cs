using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Observability;

/// <summary>The log events of the <c>mqtt</c> probe type's registration in a runtime (EventIds 8250–8299).</summary>
internal static partial class Log
{
    [LoggerMessage(8250, LogLevel.Information, "mqtt_probe_type_registered runtime={Runtime} prefix={Prefix} embedded={Embedded}", EventName = "mqtt_probe_type_registered")]
    public static partial void MqttProbeTypeRegistered(ILogger logger, string runtime, string prefix, bool embedded);

    [LoggerMessage(8251, LogLevel.Debug, "mqtt_probe_created probe={Probe} target={Target} endpoint={Endpoint} client={Client}", EventName = "mqtt_probe_created")]
    public static partial void MqttProbeCreated(ILogger logger, string probe, string target, string endpoint, string client);

    [LoggerMessage(8252, LogLevel.Debug, "mqtt_probe_rejected probe={Probe} target={Target} field={Field} reason={Reason}", EventName = "mqtt_probe_rejected")]
    public static partial void MqttProbeRejected(ILogger logger, string probe, string target, string field, string reason);
}
