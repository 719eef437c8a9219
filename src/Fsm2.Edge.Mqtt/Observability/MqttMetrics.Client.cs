using System.Diagnostics.Metrics;

namespace Fsm2.Edge.Mqtt.Observability;

/// <summary>The client-connection instruments (<c>fsm2_mqtt_*</c>, shared/spec/50-runtime-monitoring.md §8.2).</summary>
internal sealed partial class MqttMetrics
{
    // The clients whose connection the gauge reports; written by AttachConnectionSource, read by the gauge callback.
    private readonly Lock _sourcesLock = new();
    private readonly List<(KeyValuePair<string, object?> Tag, Func<bool> IsConnected)> _connectionSources = [];

    public ObservableGauge<int> MqttConnected { get; }

    public Counter<long> MqttReconnects { get; }

    public Counter<long> MqttPublishFailures { get; }

    /// <summary>Lets the <c>fsm2_mqtt_connected</c> gauge report a client as <c>client=<paramref name="client"/></c>.</summary>
    public void AttachConnectionSource(string client, Func<bool> isConnected)
    {
        lock (_sourcesLock)
        {
            _connectionSources.Add((new KeyValuePair<string, object?>("client", client), isConnected));
        }
    }

    // The listener's collection thread, never the tick thread.
    private List<Measurement<int>> ObserveConnected()
    {
        lock (_sourcesLock)
        {
            var measurements = new List<Measurement<int>>(_connectionSources.Count);
            foreach ((KeyValuePair<string, object?> tag, Func<bool> isConnected) in _connectionSources)
            {
                measurements.Add(new Measurement<int>(isConnected() ? 1 : 0, tag));
            }

            return measurements;
        }
    }
}
