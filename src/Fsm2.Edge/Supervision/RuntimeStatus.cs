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
    int CollectorRestartCount);
