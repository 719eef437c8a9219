namespace Fsm2.Edge.Execution;

/// <summary>
/// One finished action, handed from an action thread back to the tick thread. <paramref name="CompletedAt"/> is the
/// runtime clock's <see cref="TimeProvider.GetUtcNow"/> in UTC ticks when the action ended, the clock of
/// <c>Observation.CollectedAt</c>, so gate 2 compares both on one clock (40-actions §8).
/// </summary>
internal readonly record struct ActionCompletion(
    ActionSlot Slot,
    long Generation,
    string Kind,
    ActionOutcome Outcome,
    Exception? Error,
    TimeSpan Duration,
    long CompletedAt);
