namespace Fsm2.Edge.Execution;

/// <summary>The per-worker action backoff of 40-actions §11: pure arithmetic on UTC ticks, tick thread only.</summary>
internal static class ActionBackoff
{
    /// <summary>Whether an outcome counts as a failure. Cancelled means the worker is going away, so it is not.</summary>
    public static bool IsFailure(ActionOutcome outcome)
        => outcome is ActionOutcome.Error or ActionOutcome.Panic or ActionOutcome.Timeout or ActionOutcome.Abandoned;

    /// <summary>delay(k) = min(base × 2^(k−1), max), for the k-th consecutive failure (k ≥ 1).</summary>
    public static TimeSpan Delay(int failures, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        // Doubling stops at the cap, so a long failure streak can never overflow.
        long ticks = baseDelay.Ticks;
        for (int i = 1; i < failures && ticks < maxDelay.Ticks; i++)
        {
            ticks *= 2;
        }

        return TimeSpan.FromTicks(Math.Min(ticks, maxDelay.Ticks));
    }

    /// <summary>
    /// RetryNotBefore = completedAt + jitter(delay(k)), with jitter(d) = min(d × (1 + J × u), max), u uniform in [−1, 1)
    /// and J = <paramref name="jitter"/> (0 = none): the breaker's rule (30-supervision §5.3), so no retry waits longer
    /// than <paramref name="maxDelay"/>.
    /// </summary>
    public static long RetryNotBefore(long completedAt, int failures, TimeSpan baseDelay, TimeSpan maxDelay, double jitter, Random random)
    {
        long delay = Delay(failures, baseDelay, maxDelay).Ticks;
        if (jitter > 0)
        {
            // Random.NextDouble allocates nothing; spreading retries keeps failing workers from retrying in lockstep.
            delay = Math.Min((long)(delay * (1 + (jitter * ((2 * random.NextDouble()) - 1)))), maxDelay.Ticks);
        }

        return completedAt + delay;
    }
}
