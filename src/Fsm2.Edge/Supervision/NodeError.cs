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

    /// <summary>A probe of the node could not be attached (invalid id, type or target): a configuration error.</summary>
    Probe,
}

/// <summary>An error recorded on a node; cleared when its step next succeeds.</summary>
/// <param name="Source">The tick step.</param>
/// <param name="Message">What went wrong, naming the worker or child.</param>
/// <param name="At">When it was recorded.</param>
public sealed record NodeError(ErrorSource Source, string Message, DateTimeOffset At)
{
    /// <summary>
    /// The class of the exception behind the error (30-supervision §9.2), or <see langword="null"/> when no exception
    /// was involved. <see cref="Health.PanicClass.Config"/> marks a configuration error of the node.
    /// </summary>
    public Health.PanicClass? Class { get; init; }

    /// <summary>
    /// Where the error was contained (30-supervision §9.1): <c>derive</c>, <c>next</c>, <c>supervision</c>, <c>probe</c>,
    /// <c>collector</c> or <c>reconcile</c>.
    /// </summary>
    public string Site => Source switch
    {
        ErrorSource.Derive => "derive",
        ErrorSource.Reconcile => "reconcile",
        ErrorSource.Evaluate => "next",
        ErrorSource.Collector => "collector",
        _ => "probe",
    };
}
