using System.Diagnostics;
using System.Text.Json;
using Fsm2.Edge.Collection;

namespace Fsm2.Edge.Workers;

/// <summary>
/// The node's non-generic view of one typed worker instance. The generic subclass keeps everything typed (desired
/// record, observation slot, current state) so the node never holds a foreign observation type and never boxes.
/// </summary>
/// <remarks>
/// Threading: every member is tick-thread only, except <see cref="CollectAsync"/> (collector threads) and the
/// observation slot and desired reference it touches, which are shared through volatile reads and atomic swaps.
/// </remarks>
[DebuggerDisplay("{Identity.Id} in {CurrentStateName}")]
internal abstract class WorkerHandle : IWorkerHandle
{
    protected WorkerHandle(Identity identity, WorkerTypeOptions options)
    {
        Identity = identity;
        Options = options;
    }

    public Identity Identity { get; }

    public WorkerTypeOptions Options { get; }

    public abstract object Worker { get; }

    /// <summary>The current state's name, or <c>""</c> before <see cref="Initialize"/>.</summary>
    public abstract string CurrentStateName { get; }

    /// <summary>The reason recorded on the latest evaluation.</summary>
    public string Reason { get; protected set; } = "";

    /// <summary>Whether a desired record has been published (the collector starts with the first one).</summary>
    public abstract bool HasDesired { get; }

    /// <summary>Calls <c>GetInitialState</c>; a <see langword="null"/> result throws.</summary>
    public abstract void Initialize();

    /// <summary>Forces the worker back to its initial state (restart fallback).</summary>
    public abstract void ResetToInitialState();

    /// <summary>Runs the worker's derive. Throws when the worker throws.</summary>
    /// <returns>The untyped derived record plus the fields the node needs.</returns>
    public abstract DeriveResult Derive(UserSpec injected);

    /// <summary>Stores an accepted derive result as the source of the typed desired config.</summary>
    public abstract void Accept(in DeriveResult result);

    /// <summary>Publishes a new desired record if state or flag changed since the last one.</summary>
    /// <returns><see langword="true"/> when a new record was published.</returns>
    public abstract bool PublishDesired(string state, bool shutdownRequested);

    /// <summary>Reads the observation slot once.</summary>
    public abstract bool TryGetObservation(out DateTimeOffset collectedAt, out long sequence);

    /// <summary>Evaluates the current state and applies the resulting state change.</summary>
    /// <exception cref="InvariantViolationException">The transition breaks a rule of the worker model; nothing applied.</exception>
    public abstract EvaluateResult Evaluate(DateTimeOffset now, ChildrenView children, in Execution.ActionStatus action);

    /// <summary>Collector side: collects once and publishes the result unless the collector generation moved on.</summary>
    public abstract ValueTask<CollectOutcome> CollectAsync(Collector collector, long generation, DateTimeOffset startedAt, CancellationToken cancellationToken);

    /// <summary>For diagnostics dumps: the desired record and the observation, untyped.</summary>
    public abstract (object? Desired, object? Observation) GetRecords();

    /// <summary>
    /// For diagnostics dumps (not on the tick path): writes the <c>desired</c> and <c>observed</c> properties of this
    /// instance's store record; config and observation values are written with <see cref="object.ToString"/>.
    /// </summary>
    public abstract void WriteRecords(Utf8JsonWriter writer);

    /// <summary>
    /// Any thread (a status publisher, never the tick): writes the worker's <c>observed</c> status object from the
    /// observation slot through its <see cref="IWorkerStatusWriter{TObserved}"/>, as one JSON object value.
    /// </summary>
    /// <param name="writer">The writer; the caller has written the property name, or writes a bare value.</param>
    /// <param name="children">The node's children view for the summary.</param>
    /// <returns><see langword="false"/>, having written nothing, when the worker type has no status writer or no
    /// observation was collected yet.</returns>
    public virtual bool WriteObservedStatus(Utf8JsonWriter writer, ChildrenView children) => false;
}

/// <summary>What a derive call produced, untyped.</summary>
internal readonly record struct DeriveResult(string? State, IReadOnlyList<ChildSpec>? Children, object Derived);

/// <summary>
/// What an evaluation decided, after the state change was applied. <see cref="ObservedAt"/> is the CollectedAt of the
/// observation Next actually saw (the slot may change between the gate check and Next), for gate 1.
/// </summary>
internal readonly record struct EvaluateResult(
    bool Transitioned,
    string From,
    string To,
    Signal Signal,
    IAction? Action,
    object? ActionArgs,
    DateTimeOffset ObservedAt);

/// <summary>The result of one collection attempt.</summary>
internal enum CollectOutcome
{
    Published,
    Null,
    Discarded,
}
