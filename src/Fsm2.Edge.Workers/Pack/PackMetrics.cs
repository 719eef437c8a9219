using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Fsm2.Edge.Workers.Pack;

/// <summary>
/// The worker pack's instruments, named as in the catalogue of 50-runtime-monitoring §8.2. They live on the meter
/// <see cref="MeterName"/> (the pack cannot add to the core's EdgeMetrics); an exporter listening to every <c>fsm2_*</c>
/// instrument picks them up by name.
/// </summary>
internal sealed class PackMetrics
{
    public const string MeterName = "Fsm2.Edge.Workers";

    // Shared: written by collectors, read by the observable gauge's callback.
    private readonly ConcurrentDictionary<string, int> _connectionUp = new(StringComparer.Ordinal);

    public PackMetrics(IMeterFactory? factory)
    {
        Meter meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        FlowIn = meter.CreateCounter<long>("fsm2_flow_messages_in_total", description: "Messages received by a flow.");
        FlowOut = meter.CreateCounter<long>("fsm2_flow_messages_out_total", description: "Messages republished by a flow.");
        FlowDropped = meter.CreateCounter<long>("fsm2_flow_messages_dropped_total", description: "Messages a flow dropped, by reason.");
        TopicCacheMisses = meter.CreateCounter<long>("fsm2_flow_topic_cache_misses_total", description: "Topic renders beyond the per-tag cache.");
        SimulatorMessages = meter.CreateCounter<long>("fsm2_simulator_messages_total", description: "Simulator publications.");
        meter.CreateObservableGauge("fsm2_connection_up", ObserveConnections, description: "1 when the connection's device is reachable.");
    }

    public Counter<long> FlowIn { get; }

    public Counter<long> FlowOut { get; }

    public Counter<long> FlowDropped { get; }

    public Counter<long> TopicCacheMisses { get; }

    public Counter<long> SimulatorMessages { get; }

    public void SetConnectionUp(string node, bool up) => _connectionUp[node] = up ? 1 : 0;

    public void Dropped(string node, string reason)
        => FlowDropped.Add(1, new TagList { { "node", node }, { "reason", reason } });

    private IEnumerable<Measurement<int>> ObserveConnections()
    {
        foreach (KeyValuePair<string, int> pair in _connectionUp)
        {
            yield return new Measurement<int>(pair.Value, new KeyValuePair<string, object?>("node", pair.Key));
        }
    }
}
