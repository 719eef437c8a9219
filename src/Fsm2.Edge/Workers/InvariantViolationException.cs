namespace Fsm2.Edge.Workers;

/// <summary>
/// A rule of the worker model was broken by worker code (for example a state returned a different state together
/// with an action). Unlike other exceptions from worker code it is never contained: it propagates out of the tick.
/// </summary>
public sealed class InvariantViolationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InvariantViolationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was violated, naming the worker.</param>
    public InvariantViolationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What was violated, naming the worker.</param>
    /// <param name="innerException">The cause.</param>
    public InvariantViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
