using System.Text.Json;

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

    /// <summary>
    /// The final status of every node finalized since the runtime's shutdown began (state as the worker left it,
    /// lifecycle <see cref="NodeLifecycle.Finalized"/>), in finalization order; empty before a shutdown. A node walks its
    /// last shutdown states and is finalized within a few ticks, so a reader that polls <see cref="Nodes"/> may never see
    /// its final state there; a monitoring publisher reads it here (50-runtime-monitoring §10 step 4).
    /// </summary>
    public IReadOnlyList<NodeStatus> FinalizedDuringShutdown { get; init; } = [];

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

    /// <summary>When the worker entered <see cref="State"/> (runtime clock).</summary>
    public DateTimeOffset StateSince { get; init; }

    /// <summary>
    /// The node's live tick counters (count, last and maximum duration, newest observation, stale pause). A reference to
    /// the node's counters, not a copy: they move without a new status being published (50-runtime-monitoring §6.3).
    /// <see langword="null"/> for statuses not built by a runtime.
    /// </summary>
    public NodeTickStats? Ticks { get; init; }

    /// <summary>
    /// The action queued or running for the node's worker now, or <see langword="null"/> (50-runtime-monitoring §6.3).
    /// Read live from <see cref="Ticks"/> (an action starting or ending does not publish a new status); each read allocates.
    /// </summary>
    public NodeActionStatus? Action => Ticks?.Action;

    /// <summary>
    /// The phase of <see cref="State"/> (50-runtime-monitoring §6.3, §7.0): <c>stopped</c>, <c>starting</c>, <c>running</c>,
    /// <c>degraded</c> or <c>stopping</c>. See <see cref="StatePhases.Of"/> for the rule.
    /// </summary>
    public string Phase => StatePhases.Of(State);

    /// <summary>The node's worker instance when the status was built (a reference, read off the tick thread only through
    /// <see cref="WriteObserved"/>).</summary>
    internal Workers.WorkerHandle? Worker { get; init; }

    /// <summary>The node's children view when the status was built (immutable).</summary>
    internal Workers.ChildrenView? ChildView { get; init; }

    /// <summary>
    /// Writes the worker's <c>observed</c> summary (50-runtime-monitoring §6.3) as one JSON object value, from the
    /// observation the node's slot holds now, through the worker type's <see cref="Workers.IWorkerStatusWriter{TObserved}"/>.
    /// For status publishers, off the tick thread; the worker's hook runs on the caller's thread and its exceptions
    /// propagate.
    /// </summary>
    /// <param name="writer">The writer, after the property name (or where a value may stand).</param>
    /// <returns><see langword="false"/>, having written nothing, when the worker type has no status writer, the node has
    /// no observation yet, or the status was not built by a runtime.</returns>
    public bool WriteObserved(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return Worker is { } worker && worker.WriteObservedStatus(writer, ChildView ?? Workers.ChildrenView.Empty);
    }
}

/// <summary>An in-flight action in a <see cref="NodeStatus"/> (50-runtime-monitoring §6.3).</summary>
/// <param name="Name">The action kind, e.g. <c>subscribe</c>.</param>
/// <param name="StartedAt">When it was enqueued (runtime clock).</param>
/// <param name="Attempt">1 for a first try; n + 1 after n consecutive failures of the worker's actions (40-actions §11).</param>
public sealed record NodeActionStatus(string Name, DateTimeOffset StartedAt, int Attempt);

/// <summary>
/// The phase of a worker state (50-runtime-monitoring §7.0), derived from the state-naming conventions every built-in
/// worker type follows (10-core-hierarchy §2.7, 50 §7), so a worker type needs no extra declaration.
/// </summary>
/// <remarks>
/// The rule, first match wins: <c>stopped</c> (or empty, before the first evaluation: <c>stopped</c>);
/// <c>stopping</c> or a <c>trying_to_</c> state whose verb winds something down (<c>stop</c>, <c>unsubscribe</c>,
/// <c>disconnect</c>, <c>close</c>, <c>remove</c>, <c>shutdown</c>, <c>un…</c>, <c>dis…</c>) → <c>stopping</c>;
/// any other <c>trying_to_</c> state, <c>starting</c>, <c>probing</c>, <c>connecting</c> → <c>starting</c>;
/// a state named <c>degraded</c> or starting with <c>degraded_</c> → <c>degraded</c>; anything else → <c>running</c>.
/// </remarks>
public static class StatePhases
{
    /// <summary>The phase of <paramref name="state"/>.</summary>
    /// <param name="state">A state name (lower snake_case).</param>
    /// <returns>One of <c>stopped</c>, <c>starting</c>, <c>running</c>, <c>degraded</c>, <c>stopping</c>.</returns>
    public static string Of(string? state)
    {
        if (string.IsNullOrEmpty(state) || state == "stopped")
        {
            return "stopped";
        }

        const string trying = "trying_to_";
        if (state.StartsWith(trying, StringComparison.Ordinal))
        {
            ReadOnlySpan<char> verb = state.AsSpan(trying.Length);
            return verb.StartsWith("stop", StringComparison.Ordinal) || verb.StartsWith("un", StringComparison.Ordinal)
                || verb.StartsWith("dis", StringComparison.Ordinal) || verb.StartsWith("close", StringComparison.Ordinal)
                || verb.StartsWith("remove", StringComparison.Ordinal) || verb.StartsWith("shutdown", StringComparison.Ordinal)
                ? "stopping"
                : "starting";
        }

        return state switch
        {
            "stopping" => "stopping",
            "starting" or "probing" or "connecting" => "starting",
            _ when state == "degraded" || state.StartsWith("degraded_", StringComparison.Ordinal) => "degraded",
            _ => "running",
        };
    }
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
