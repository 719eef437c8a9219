using System.Diagnostics;

namespace Fsm2.Edge.Workers;

/// <summary>
/// The desired record that states and collectors see. A new instance is allocated only when a field changes and is
/// published to the collector with one atomic reference write.
/// </summary>
/// <typeparam name="TDesired">The worker's typed configuration.</typeparam>
[DebuggerDisplay("{State} v{Version} shutdown={ShutdownRequested}")]
public sealed class DesiredState<TDesired>
{
    /// <summary>Creates a desired record.</summary>
    /// <param name="state">The effective desired state: the mapped override, else the derived state.</param>
    /// <param name="config">The typed configuration.</param>
    /// <param name="shutdownRequested">The supervisor-owned, sticky wind-down flag.</param>
    /// <param name="version">Bumped whenever any field changes.</param>
    public DesiredState(string state, TDesired config, bool shutdownRequested, long version)
    {
        State = state;
        Config = config;
        ShutdownRequested = shutdownRequested;
        Version = version;
    }

    /// <summary>The effective desired state.</summary>
    public string State { get; }

    /// <summary>The typed configuration.</summary>
    public TDesired Config { get; }

    /// <summary>Set by the node only; never cleared for a worker instance.</summary>
    public bool ShutdownRequested { get; }

    /// <summary>Bumped whenever any field changes.</summary>
    public long Version { get; }
}
