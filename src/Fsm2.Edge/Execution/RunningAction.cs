namespace Fsm2.Edge.Execution;

/// <summary>
/// One action an action thread is executing right now, as the tick's stuck scan sees it (40-actions §10).
/// <paramref name="StartedAt"/> is a <see cref="TimeProvider.GetTimestamp"/> of the runtime clock, so the age is
/// measured on the clock that drives timeouts (FakeTimeProvider in tests). <paramref name="Thread"/> and
/// <paramref name="Ticket"/> let the executor find the execution again when the tick abandons it.
/// </summary>
internal readonly record struct RunningAction(
    ActionSlot Slot,
    long Generation,
    string Kind,
    long StartedAt,
    TimeSpan Timeout,
    int Thread,
    long Ticket);
