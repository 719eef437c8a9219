namespace Fsm2.Edge.Execution;

/// <summary>One finished action, handed from an action thread back to the tick thread.</summary>
internal readonly record struct ActionCompletion(
    ActionSlot Slot,
    long Generation,
    string Kind,
    ActionOutcome Outcome,
    Exception? Error,
    TimeSpan Duration);
