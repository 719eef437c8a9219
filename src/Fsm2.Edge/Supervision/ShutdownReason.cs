namespace Fsm2.Edge.Supervision;

/// <summary>Why a worker's shutdown was requested.</summary>
public enum ShutdownReason
{
    /// <summary>No shutdown requested.</summary>
    None,

    /// <summary>The parent stopped declaring the child.</summary>
    RemovedFromSpec,

    /// <summary>The child's worker type changed; a new node replaces it.</summary>
    TypeChanged,

    /// <summary>The parent is shutting down.</summary>
    ParentShutdown,

    /// <summary>The runtime is shutting down.</summary>
    RuntimeShutdown,

    /// <summary>The worker signalled <c>NeedsRestart</c>.</summary>
    RestartRequested,

    /// <summary>The collector did not recover after its restarts.</summary>
    CollectorUnresponsive,

    /// <summary>The worker signalled <c>NeedsRemoval</c> while still declared.</summary>
    SelfRemoved,
}
