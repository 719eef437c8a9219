namespace Fsm2.Edge.Execution;

/// <summary>How an action ended.</summary>
public enum ActionOutcome
{
    /// <summary>No action has completed yet.</summary>
    None = 0,

    /// <summary>Returned normally.</summary>
    Success,

    /// <summary>Threw.</summary>
    Error,

    /// <summary>Threw an exception classified as a bug.</summary>
    Panic,

    /// <summary>Ended with cancellation after its timeout fired.</summary>
    Timeout,

    /// <summary>Cancelled for removal or shutdown, or discarded before it started.</summary>
    Cancelled,

    /// <summary>Ignored cancellation and was given up on.</summary>
    Abandoned,
}
