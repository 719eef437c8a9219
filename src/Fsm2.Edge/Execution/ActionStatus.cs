namespace Fsm2.Edge.Execution;

/// <summary>
/// What <c>Next</c> knows about its worker's actions (40-actions §9): the action in flight, the last accepted result
/// and the backoff. Every timestamp is a UTC instant in <see cref="DateTimeOffset.UtcTicks"/> read from the runtime's
/// <see cref="TimeProvider.GetUtcNow"/> (the clock of <c>Snapshot.Now</c> and <c>Observation.CollectedAt</c>), or 0
/// when there is none. Ticks rather than <see cref="DateTimeOffset"/> keep the struct compact and comparisons plain.
/// </summary>
/// <param name="InFlightKind">Kind of the action queued or running, or <see langword="null"/>.</param>
/// <param name="InFlightSince">When that action was enqueued (UTC ticks), 0 when nothing is in flight.</param>
/// <param name="LastKind">Kind of the last accepted completion, or <see langword="null"/>.</param>
/// <param name="LastOutcome">Outcome of the last accepted completion.</param>
/// <param name="LastError">Error text of the last accepted completion, or <see langword="null"/>.</param>
/// <param name="LastCompletedAt">When the last accepted completion ended (UTC ticks), 0 when none.</param>
/// <param name="ConsecutiveFailures">Failures since the last success (Error, Panic, Timeout, Abandoned).</param>
/// <param name="RetryNotBefore">Backoff: no action is enqueued before this instant (UTC ticks), 0 when none.</param>
public readonly record struct ActionStatus(
    string? InFlightKind,
    long InFlightSince,
    string? LastKind,
    ActionOutcome LastOutcome,
    string? LastError,
    long LastCompletedAt,
    int ConsecutiveFailures,
    long RetryNotBefore)
{
    /// <summary>Whether an action is queued or running.</summary>
    public bool InFlight => InFlightKind is not null;

    /// <summary>Whether <paramref name="now"/> is still inside the backoff window.</summary>
    /// <param name="now">The tick timestamp (<c>Snapshot.Now</c>).</param>
    /// <returns><see langword="true"/> when an action returned now would be deferred.</returns>
    public bool InBackoff(DateTimeOffset now) => now.UtcTicks < RetryNotBefore;
}
