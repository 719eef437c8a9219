namespace Fsm2.Edge.Collection;

/// <summary>Lifecycle of one collector: <c>Created → Running → Stopped</c>.</summary>
public enum CollectorState
{
    /// <summary>Registered; waits for the worker's first desired record.</summary>
    Created,

    /// <summary>Collecting at its interval.</summary>
    Running,

    /// <summary>Stopped for good: the worker instance is done or finalized.</summary>
    Stopped,
}
