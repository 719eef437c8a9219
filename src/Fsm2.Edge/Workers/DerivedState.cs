namespace Fsm2.Edge.Workers;

/// <summary>What <see cref="IWorker{TObserved, TDesired}.DeriveDesiredState"/> returns.</summary>
/// <typeparam name="TDesired">The worker's typed configuration.</typeparam>
/// <param name="State">Required, non-empty desired state name (<c>running</c>, <c>stopped</c>, <c>active</c> ...).</param>
/// <param name="Config">The worker-specific typed configuration (rendered, parsed, validated).</param>
/// <param name="Children">The complete declared child set; <see langword="null"/> means no children.</param>
public sealed record DerivedState<TDesired>(
    string State,
    TDesired Config,
    IReadOnlyList<ChildSpec>? Children = null);
