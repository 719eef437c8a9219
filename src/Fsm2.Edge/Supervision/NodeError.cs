namespace Fsm2.Edge.Supervision;

/// <summary>Which step of the tick an error came from.</summary>
public enum ErrorSource
{
    /// <summary>The worker's derive threw or returned an invalid result.</summary>
    Derive,

    /// <summary>A child could not be created.</summary>
    Reconcile,

    /// <summary>A state's <c>Next</c> threw.</summary>
    Evaluate,

    /// <summary>The collector stopped delivering.</summary>
    Collector,
}

/// <summary>An error recorded on a node; cleared when its step next succeeds.</summary>
/// <param name="Source">The tick step.</param>
/// <param name="Message">What went wrong, naming the worker or child.</param>
/// <param name="At">When it was recorded.</param>
public sealed record NodeError(ErrorSource Source, string Message, DateTimeOffset At);
