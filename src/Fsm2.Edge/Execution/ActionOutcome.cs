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

/// <summary>Metric tag values of <see cref="ActionOutcome"/>: cached lower-case strings, so tagging never formats.</summary>
internal static class ActionOutcomeTags
{
    public static string ToTag(this ActionOutcome outcome) => outcome switch
    {
        ActionOutcome.Success => "success",
        ActionOutcome.Error => "error",
        ActionOutcome.Panic => "panic",
        ActionOutcome.Timeout => "timeout",
        ActionOutcome.Cancelled => "cancelled",
        ActionOutcome.Abandoned => "abandoned",
        _ => "none",
    };
}
