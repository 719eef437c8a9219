using System.Diagnostics.Metrics;

namespace Fsm2.Edge.Mqtt.Observability;

/// <summary>
/// The MQTT layer's instruments. They live on a meter named like the runtime's (<see cref="MeterName"/>), so one
/// listener subscribed to <c>Fsm2.Edge</c> sees the core's and the MQTT layer's <c>fsm2_*</c> instruments alike.
/// Everything here is recorded off the tick thread (broker callbacks, probe runs), so ordinary counters and
/// histograms are used (shared/spec/50-runtime-monitoring.md §8.1).
/// </summary>
internal sealed partial class MqttMetrics : IDisposable
{
    /// <summary>
    /// The runtime meter's name. It must equal the core's <c>EdgeMetrics.MeterName</c>, which is internal to
    /// Fsm2.Edge; the MQTT tests pin the literal.
    /// </summary>
    public const string MeterName = "Fsm2.Edge";

    private readonly Meter _meter;

    public MqttMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        BrokerMessagesOverwritten = _meter.CreateCounter<long>(
            "fsm2_broker_messages_overwritten_total", description: "Embedded broker queue overwrites (a subscriber's oldest pending message dropped).");
        ProbeRtt = _meter.CreateHistogram<double>("fsm2_probe_rtt_seconds", "s", "Successful probe round trips.");
        ProbeResults = _meter.CreateCounter<long>("fsm2_probe_results_total", description: "Probe runs by outcome.");
        ProbeLateEchoes = _meter.CreateCounter<long>(
            "fsm2_probe_late_echoes_total", description: "Probe echoes ignored: an older seq, another instance id, or a payload that does not match its topic.");
        MqttConnected = _meter.CreateObservableGauge("fsm2_mqtt_connected", ObserveConnected, description: "1 while the client is connected.");
        MqttReconnects = _meter.CreateCounter<long>("fsm2_mqtt_reconnects_total", description: "Successful connects after the first, by client.");
        MqttPublishFailures = _meter.CreateCounter<long>("fsm2_mqtt_publish_failures_total", description: "Publishes that failed or were skipped while disconnected, by client.");
    }

    public Counter<long> BrokerMessagesOverwritten { get; }

    public Histogram<double> ProbeRtt { get; }

    public Counter<long> ProbeResults { get; }

    public Counter<long> ProbeLateEchoes { get; }

    public void Dispose() => _meter.Dispose();
}
