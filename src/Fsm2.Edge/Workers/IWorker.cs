namespace Fsm2.Edge.Workers;

/// <summary>
/// User-supplied business logic: collects observations, derives desired state and children, provides the initial
/// state. Holds no infrastructure logic. Dependencies arrive through the constructor.
/// </summary>
/// <typeparam name="TObserved">An immutable observation type; the framework never mutates or copies it.</typeparam>
/// <typeparam name="TDesired">The worker's typed configuration.</typeparam>
public interface IWorker<TObserved, TDesired>
    where TObserved : class
{
    /// <summary>
    /// Collects one observation. Runs off the tick thread; may block on I/O; must honour
    /// <paramref name="cancellationToken"/> and return within 5 s of cancellation. Throwing or returning
    /// <see langword="null"/> is a collection failure (logged, counted, the slot keeps its value).
    /// </summary>
    /// <param name="desired">The latest published desired record; never <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancelled after the observation timeout.</param>
    /// <returns>The observed value.</returns>
    ValueTask<TObserved> CollectObservedStateAsync(DesiredState<TDesired> desired, CancellationToken cancellationToken);

    /// <summary>
    /// Pure: user config → technical desired state, including templating, validation and children. Runs on the tick
    /// thread, only when its inputs changed. Throwing means derive failed; the node keeps its last good result.
    /// </summary>
    /// <param name="spec">The injected spec: config plus merged User, Global and Internal variables.</param>
    /// <returns>The derived state.</returns>
    DerivedState<TDesired> DeriveDesiredState(UserSpec spec);

    /// <summary>The state a new worker instance starts in. Tick thread, once per instance.</summary>
    /// <returns>A state singleton.</returns>
    IState<TObserved, TDesired> GetInitialState();
}
