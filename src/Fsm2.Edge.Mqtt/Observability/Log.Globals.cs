using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Observability;

/// <summary>
/// Log events of the fleet Global subscription (EventIds 8600–8699). <c>global_variables_updated</c> and
/// <c>global_update_rejected</c> are the runtime's own events (it validates and applies the payload); these add what
/// only the MQTT side knows: the subscription, the startup wait and updates ignored during shutdown.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(8601, LogLevel.Information, "fleet_global_subscribed topic={Topic} wait_ms={WaitMs}", EventName = "fleet_global_subscribed")]
    public static partial void FleetGlobalSubscribed(ILogger logger, string topic, double waitMs);

    [LoggerMessage(8602, LogLevel.Debug, "fleet_global_received topic={Topic} bytes={Bytes} accepted={Accepted} version={Version}", EventName = "fleet_global_received")]
    public static partial void FleetGlobalReceived(ILogger logger, string topic, long bytes, bool accepted, string version);

    [LoggerMessage(8603, LogLevel.Information, "fleet_global_wait_ended topic={Topic} received={Received} waited_ms={WaitedMs}", EventName = "fleet_global_wait_ended")]
    public static partial void FleetGlobalWaitEnded(ILogger logger, string topic, bool received, double waitedMs);

    [LoggerMessage(8604, LogLevel.Debug, "fleet_global_ignored topic={Topic}: the runtime is shutting down", EventName = "fleet_global_ignored")]
    public static partial void FleetGlobalIgnored(ILogger logger, string topic);
}
