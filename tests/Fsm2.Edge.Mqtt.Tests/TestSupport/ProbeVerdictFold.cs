using Fsm2.Edge.Health.Probes;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>
/// The verdict rule of shared/spec/30-supervision.md §10.1 folded over raw probe outcomes, so the MQTT tests can state
/// "2 misses still healthy, 3 unhealthy" against real brokers. The runtime's own verdict lives with the probe scheduler
/// in Fsm2.Edge; this fold is a test oracle, written from the spec, not a copy of it.
/// </summary>
public sealed class ProbeVerdictFold(int missThreshold)
{
    private int _misses;

    /// <summary>The verdict after the outcomes applied so far; healthy before the first.</summary>
    public bool Healthy { get; private set; } = true;

    /// <summary>Applies one outcome and returns the verdict.</summary>
    public bool Apply(ProbeOutcome outcome)
    {
        switch (outcome)
        {
            case ProbeOutcome.Success:
                _misses = 0;
                Healthy = true;
                break;
            case ProbeOutcome.Miss:
                _misses++;
                Healthy = _misses < missThreshold;
                break;
            default:
                Healthy = false;
                break;
        }

        return Healthy;
    }
}
