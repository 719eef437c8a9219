namespace Fsm2.Edge.Workers;

/// <summary>
/// One state of a worker's FSM. States are singletons without per-worker fields; "same state" means reference
/// equality with the current state.
/// </summary>
/// <typeparam name="TObserved">The worker's observation type.</typeparam>
/// <typeparam name="TDesired">The worker's typed configuration.</typeparam>
public interface IState<TObserved, TDesired>
    where TObserved : class
{
    /// <summary>A stable name, used in logs, status, state mapping keys of children and the children view.</summary>
    string Name { get; }

    /// <summary>
    /// Decides what happens next. Pure: no I/O, no clock, no blocking, no mutation of shared data. Runs on the tick
    /// thread. Checks <see cref="Snapshot{TObserved, TDesired}.ShutdownRequested"/> first.
    /// </summary>
    /// <param name="snapshot">The point-in-time input.</param>
    /// <returns>The transition: next state, signal, optional action, reason.</returns>
    Transition<TObserved, TDesired> Next(in Snapshot<TObserved, TDesired> snapshot);
}
