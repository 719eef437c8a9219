using Fsm2.Edge.Health.Probes;

namespace Fsm2.Edge.Health;

/// <summary>
/// The immutable result of a probe's latest run (30-supervision §10.1), swapped into the probe's slot by the scheduler
/// and read lock-free by the tick.
/// </summary>
/// <param name="Healthy">Healthy after a success; unhealthy once misses reach the threshold or at once on Disconnected/Refused.</param>
/// <param name="Outcome">The outcome of the latest run.</param>
/// <param name="ConsecutiveMisses">Failed runs since the last success.</param>
/// <param name="RoundTrip">The duration of the latest successful run, else <see langword="null"/>.</param>
/// <param name="Stamp">When the run ended (<see cref="TimeProvider.GetTimestamp"/> units of the runtime clock).</param>
internal sealed record ProbeVerdict(bool Healthy, ProbeOutcome Outcome, int ConsecutiveMisses, TimeSpan? RoundTrip, long Stamp)
{
    /// <summary>
    /// The verdict after one more run. Only a success makes an unhealthy verdict healthy again; a miss turns a healthy
    /// verdict unhealthy when the consecutive misses reach <paramref name="missThreshold"/>.
    /// </summary>
    public static ProbeVerdict Next(ProbeVerdict? previous, ProbeOutcome outcome, int missThreshold, TimeSpan elapsed, long stamp)
    {
        if (outcome == ProbeOutcome.Success)
        {
            return new ProbeVerdict(true, outcome, 0, elapsed, stamp);
        }

        int misses = (previous?.ConsecutiveMisses ?? 0) + 1;
        bool wasHealthy = previous?.Healthy ?? true;
        bool healthy = outcome == ProbeOutcome.Miss && wasHealthy && misses < missThreshold;
        return new ProbeVerdict(healthy, outcome, misses, null, stamp);
    }
}
