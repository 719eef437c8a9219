using System.Diagnostics.Metrics;
using Fsm2.Edge.Health;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Observability;

/// <summary>The infrastructure-supervision instruments (30-supervision §5.7).</summary>
internal sealed partial class EdgeMetrics
{
    // Set once by the runtime and the probe scheduler; read by the observable gauges on the listener's thread.
    private Func<RuntimeStatus>? _statusSource;
    private ProbeScheduler? _probes;

    public Counter<long> BreakerOpened { get; }

    public Counter<long> BreakerTrials { get; }

    public Counter<long> BreakerRecoveries { get; }

    public Histogram<double> BreakerOpenSeconds { get; }

    public Counter<long> BreakerEscalations { get; }

    public Counter<long> ChildRestarts { get; }

    public Counter<long> PanicBreakerOpened { get; }

    public Histogram<double> ProbeRoundTrip { get; }

    public Counter<long> ProbeResults { get; }

    public ObservableGauge<int> BreakerStateGauge { get; }

    public ObservableGauge<int> ProbeHealthyGauge { get; }

    /// <summary>Runtime constructor: the published status feeds <c>fsm2_breaker_state</c>.</summary>
    public void AttachStatusSource(Func<RuntimeStatus> source) => Volatile.Write(ref _statusSource, source);

    /// <summary>Probe scheduler constructor: its attached probes feed <c>fsm2_probe_healthy</c>.</summary>
    public void AttachProbes(ProbeScheduler probes) => Volatile.Write(ref _probes, probes);

    // The tick never touches these gauges: they read the immutable published status (one node per measurement).
    private IEnumerable<Measurement<int>> ObserveBreakerStates()
    {
        RuntimeStatus? status = Volatile.Read(ref _statusSource)?.Invoke();
        if (status is null)
        {
            yield break;
        }

        foreach (NodeStatus node in status.Nodes)
        {
            if (node.Breaker is { } breaker)
            {
                yield return new Measurement<int>((int)breaker.State, new KeyValuePair<string, object?>("node", node.Path));
            }
        }
    }

    private IEnumerable<Measurement<int>> ObserveProbeHealth()
    {
        ProbeScheduler? probes = Volatile.Read(ref _probes);
        if (probes is null)
        {
            yield break;
        }

        foreach (KeyValuePair<string, bool> probe in probes.SnapshotHealth())
        {
            yield return new Measurement<int>(probe.Value ? 1 : 0, new KeyValuePair<string, object?>("probe", probe.Key));
        }
    }
}
