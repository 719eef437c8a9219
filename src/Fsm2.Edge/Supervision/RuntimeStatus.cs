namespace Fsm2.Edge.Supervision;

/// <summary>
/// An immutable picture of the tree, published by the tick thread with one volatile write after a tick in which a
/// status-relevant value changed. Other threads (tools, the host, tests) read it instead of live tick structures.
/// </summary>
/// <param name="Nodes">Every live node except the root, pre-order, children in spec order.</param>
/// <param name="Generation">Increments with every published status.</param>
public sealed record RuntimeStatus(IReadOnlyList<NodeStatus> Nodes, long Generation)
{
    /// <summary>The status before the first tick.</summary>
    public static RuntimeStatus Empty { get; } = new([], 0);

    /// <summary>Finds a node by path.</summary>
    /// <param name="path">The node path.</param>
    /// <returns>The node's status, or <see langword="null"/>.</returns>
    public NodeStatus? Find(string path)
    {
        foreach (NodeStatus node in Nodes)
        {
            if (string.Equals(node.Path, path, StringComparison.Ordinal))
            {
                return node;
            }
        }

        return null;
    }
}

/// <summary>One node in a <see cref="RuntimeStatus"/>.</summary>
/// <param name="Path">The node path.</param>
/// <param name="WorkerType">The worker type.</param>
/// <param name="State">The worker's current state name.</param>
/// <param name="Reason">The latest reason.</param>
/// <param name="EffectiveDesiredState">Mapped override, else derived state, else <c>""</c>.</param>
/// <param name="Lifecycle">Active, removing or finalized.</param>
/// <param name="ShutdownRequested">Whether the worker is winding down.</param>
/// <param name="LastError">The most recent error, if any.</param>
/// <param name="Children">Active child names in spec order.</param>
/// <param name="CollectorRestartCount">Collector restarts since the last fresh observation.</param>
public sealed record NodeStatus(
    string Path,
    string WorkerType,
    string State,
    string Reason,
    string EffectiveDesiredState,
    NodeLifecycle Lifecycle,
    bool ShutdownRequested,
    NodeError? LastError,
    IReadOnlyList<string> Children,
    int CollectorRestartCount)
{
    /// <summary>The mode of the node's latest tick (30-supervision §4.1).</summary>
    public Health.NodeMode Mode { get; init; }

    /// <summary>While <see cref="Mode"/> is health-only: the path of the open node that froze it (itself when its own breaker is open).</summary>
    public string? FrozenBy { get; init; }

    /// <summary>The infrastructure breaker (30-supervision §12).</summary>
    public BreakerStatus Breaker { get; init; } = BreakerStatus.Closed;

    /// <summary>The panic breaker (30-supervision §9.3).</summary>
    public PanicBreakerStatus PanicBreaker { get; init; } = PanicBreakerStatus.Closed;

    /// <summary>Whether the collector escalated and the node waits for its parent's restart (30-supervision §8.3).</summary>
    public bool CollectorDead { get; init; }

    /// <summary>How often the node was restarted by its parent's breaker (30-supervision §7).</summary>
    public int Restarts { get; init; }
}

/// <summary>The infrastructure breaker of one node in a <see cref="NodeStatus"/> (30-supervision §12).</summary>
/// <param name="State">Closed or Open (HalfOpen is resolved within a tick).</param>
/// <param name="Attempt">Failed evaluations of the current episode; 0 outside an episode.</param>
/// <param name="Label">The escalation label while an episode lasts (<see cref="Health.EscalationLabels"/>), else <see langword="null"/>.</param>
/// <param name="Causes">The sorted causes of the last failed evaluation while open, as <c>Kind(name)</c>; empty when closed.</param>
/// <param name="NextTrialAt">While open: when the next trial is due (runtime clock).</param>
/// <param name="NextTrialInMs">While open: milliseconds from the status's publication to the next trial.</param>
/// <param name="OpenSince">While open: when the breaker opened.</param>
public sealed record BreakerStatus(
    Health.BreakerState State,
    int Attempt,
    string? Label,
    IReadOnlyList<string> Causes,
    DateTimeOffset? NextTrialAt,
    double? NextTrialInMs,
    DateTimeOffset? OpenSince)
{
    /// <summary>A closed breaker outside any episode.</summary>
    public static BreakerStatus Closed { get; } = new(Health.BreakerState.Closed, 0, null, [], null, null, null);
}

/// <summary>The panic breaker of one node in a <see cref="NodeStatus"/> (30-supervision §9.3, §12).</summary>
/// <param name="Open">Whether it is open (the node runs health-only).</param>
/// <param name="PanicsInWindow">Counted panics within the panic window at publication.</param>
public sealed record PanicBreakerStatus(bool Open, int PanicsInWindow)
{
    /// <summary>Closed, with no counted panic.</summary>
    public static PanicBreakerStatus Closed { get; } = new(false, 0);
}
