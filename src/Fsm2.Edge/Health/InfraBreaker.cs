using System.Diagnostics;

namespace Fsm2.Edge.Health;

/// <summary>What one <see cref="InfraBreaker.Report"/> changed; the caller logs and counts it.</summary>
internal enum BreakerEvent : byte
{
    /// <summary>Nothing worth a line above Debug.</summary>
    None,

    /// <summary>Closed → Open (attempt 1 of an episode, or a flap before the stability window passed).</summary>
    Opened,

    /// <summary>HalfOpen → Open: the trial found a cause; eligible children are restarted.</summary>
    TrialFailed,

    /// <summary>HalfOpen → Closed: the trial was healthy.</summary>
    Closed,

    /// <summary>Closed for the whole stability window: the attempt counter went back to 0.</summary>
    EpisodeEnded,
}

/// <summary>
/// The breaker's timing in <see cref="TimeProvider.GetTimestamp"/> units (30-supervision §5.3–5.6), converted once from
/// <c>RuntimeOptions</c> so the tick compares integers only.
/// </summary>
/// <param name="BaseDelay">Delay before the first trial.</param>
/// <param name="MaxDelay">Cap of every delay, jitter included.</param>
/// <param name="StabilityWindow">How long the breaker must stay Closed before the attempt counter resets.</param>
/// <param name="Jitter">Relative jitter J in [0, 1); 0 disables it.</param>
/// <param name="PersistentAt">First attempt labelled <c>persistent_failure</c>.</param>
/// <param name="EscalateAt">First attempt labelled <c>escalation_imminent</c>.</param>
internal readonly record struct BreakerPolicy(
    long BaseDelay, long MaxDelay, long StabilityWindow, double Jitter, int PersistentAt, int EscalateAt);

/// <summary>
/// The per-node infrastructure circuit breaker (30-supervision §5, sketch §14): a value type stored inline in the node,
/// whose methods are pure functions of the stamps passed in. It has no terminal state (§5.5): after any number of
/// attempts it keeps scheduling trials at <c>jitter(MaxDelay)</c>.
/// </summary>
/// <remarks>Owner: tick thread. Other threads see it only through the published status.</remarks>
[DebuggerDisplay("{State} attempts={Attempts} next={NextTrialAt}")]
internal struct InfraBreaker
{
    public BreakerState State;

    // Consecutive failed evaluations of the current episode (§5.4); reset only after StabilityWindow in Closed.
    public int Attempts;

    // Whether fsm2_breaker_escalations_total was counted for this episode (once per episode, §5.6).
    public bool EscalationReported;

    public long OpenedAt;
    public long NextTrialAt;

    // The creation stamp until the first close, so a node that never opened is "stable" after StabilityWindow.
    public long ClosedSince;

    // Unlike the Go original, trials are jittered (§13 defect 8): xorshift64 state, seeded per node, never 0.
    private ulong _rng;

    public InfraBreaker(long createdAt, ulong seed)
    {
        ClosedSince = createdAt;
        _rng = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;
    }

    /// <summary>Whether health must be evaluated this tick: Closed, or Open with a trial due (then HalfOpen).</summary>
    public bool BeginTick(long now)
    {
        if (State == BreakerState.Open && now >= NextTrialAt)
        {
            State = BreakerState.HalfOpen;
        }

        return State != BreakerState.Open;
    }

    /// <summary>Feeds one evaluation (§5.2) and returns what changed.</summary>
    public BreakerEvent Report(bool healthy, long now, in BreakerPolicy policy)
    {
        bool stable = State == BreakerState.Closed && now - ClosedSince >= policy.StabilityWindow;
        if (healthy)
        {
            if (State == BreakerState.HalfOpen)
            {
                State = BreakerState.Closed;
                ClosedSince = now;
                return BreakerEvent.Closed;
            }

            if (Attempts > 0 && stable)
            {
                Attempts = 0;
                EscalationReported = false;
                return BreakerEvent.EpisodeEnded;
            }

            return BreakerEvent.None;
        }

        if (stable)
        {
            Attempts = 0;
            EscalationReported = false;
        }

        BreakerEvent result = State == BreakerState.Closed ? BreakerEvent.Opened : BreakerEvent.TrialFailed;
        if (result == BreakerEvent.Opened)
        {
            OpenedAt = now;
        }

        if (Attempts < int.MaxValue)
        {
            Attempts++;
        }

        NextTrialAt = now + Jittered(Delay(Attempts, in policy), in policy);
        State = BreakerState.Open;
        return result;
    }

    /// <summary>delay(n) = min(BaseDelay × 2^(n−1), MaxDelay), O(1), the shift guarded against overflow (§5.3).</summary>
    public static long Delay(int attempt, in BreakerPolicy policy)
    {
        // 40: any base of at least one timestamp unit exceeds every cap long before 2^40, so larger shifts change nothing.
        int shift = Math.Clamp(attempt - 1, 0, 40);
        return policy.BaseDelay > (policy.MaxDelay >> shift) ? policy.MaxDelay : Math.Min(policy.BaseDelay << shift, policy.MaxDelay);
    }

    /// <summary>jitter(d) = min(d × (1 + J × u), MaxDelay), u uniform in [−1, 1) (§5.3).</summary>
    private long Jittered(long delay, in BreakerPolicy policy)
    {
        if (policy.Jitter == 0)
        {
            return delay;
        }

        _rng ^= _rng << 13;
        _rng ^= _rng >> 7;
        _rng ^= _rng << 17;

        // The top 53 bits give a double in [0, 1) with full precision; scaled to [-1, 1).
        double u = ((_rng >> 11) * (2.0 / (1UL << 53))) - 1.0;
        return Math.Min((long)(delay * (1 + (policy.Jitter * u))), policy.MaxDelay);
    }

    /// <summary>The escalation label of an attempt (§5.6).</summary>
    public static string Label(int attempt, in BreakerPolicy policy)
        => attempt >= policy.EscalateAt ? EscalationLabels.EscalationImminent
            : attempt >= policy.PersistentAt ? EscalationLabels.PersistentFailure
            : EscalationLabels.AttemptingRecovery;

    /// <summary>
    /// Per-node seed: the runtime seed combined with a stable (FNV-1a) hash of the node path, so two runs with the same
    /// runtime seed produce identical trial sequences while siblings do not retry in lockstep.
    /// </summary>
    public static ulong Seed(ulong runtimeSeed, string path)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in path)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }

        ulong seed = runtimeSeed ^ hash;
        return seed == 0 ? 0x9E3779B97F4A7C15UL : seed;
    }
}

/// <summary>The recovery labels of 30-supervision §5.6, as shown in logs and in the node status.</summary>
public static class EscalationLabels
{
    /// <summary>Attempts below <c>PersistentFailureAttempt</c> (1–2 by default).</summary>
    public const string AttemptingRecovery = "attempting_recovery";

    /// <summary>Attempts from <c>PersistentFailureAttempt</c> below <c>EscalationAttempt</c> (3–4 by default).</summary>
    public const string PersistentFailure = "persistent_failure";

    /// <summary>Attempts from <c>EscalationAttempt</c> on (5 and above by default).</summary>
    public const string EscalationImminent = "escalation_imminent";

    /// <summary>
    /// The <c>runbook</c> field of the first <c>escalation_imminent</c> line of an episode (50-runtime-monitoring §9.3):
    /// the README section an operator follows when a breaker stays open.
    /// </summary>
    public const string Runbook = "README.md#breaker-stuck-open (README section: Breaker stuck open)";
}
