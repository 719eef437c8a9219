namespace Fsm2.Edge.Workers;

/// <summary>What a worker tells its node besides its next state.</summary>
public enum Signal
{
    /// <summary>Normal operation.</summary>
    None = 0,

    /// <summary>The worker finished its cleanup and may be dropped.</summary>
    NeedsRemoval = 1,

    /// <summary>The worker wants to be re-created: it shuts down gracefully and then gets a fresh instance.</summary>
    NeedsRestart = 2,
}
