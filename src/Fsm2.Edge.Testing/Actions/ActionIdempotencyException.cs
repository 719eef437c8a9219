namespace Fsm2.Edge.Testing.Actions;

/// <summary>An action was not idempotent: a run left a different end state than one clean run.</summary>
public sealed class ActionIdempotencyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ActionIdempotencyException()
    {
    }

    /// <summary>Creates the exception with a message naming the action kind and the run that diverged.</summary>
    /// <param name="message">The message.</param>
    public ActionIdempotencyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ActionIdempotencyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
