using System.Diagnostics;

namespace Fsm2.Edge.Workers;

/// <summary>
/// The result of <see cref="IState{TObserved, TDesired}.Next"/>. A different next state together with an action, a
/// <see langword="null"/> next state, an undefined signal, or a signal together with an action are invariant
/// violations: the node throws <see cref="InvariantViolationException"/> and applies nothing.
/// </summary>
/// <typeparam name="TObserved">The worker's observation type.</typeparam>
/// <typeparam name="TDesired">The worker's typed configuration.</typeparam>
[DebuggerDisplay("{NextState?.Name} {Signal} {Action?.Kind} {Reason}")]
public readonly struct Transition<TObserved, TDesired>
    where TObserved : class
{
    /// <summary>Creates a transition.</summary>
    /// <param name="nextState">The state to be in after this evaluation (the current one to stay).</param>
    /// <param name="signal">A signal to the node.</param>
    /// <param name="action">An action to hand to the executor; only together with staying in the current state.</param>
    /// <param name="reason">Why; <see langword="null"/> records <c>""</c>.</param>
    public Transition(IState<TObserved, TDesired> nextState, Signal signal = Signal.None, IAction? action = null, string? reason = null)
    {
        NextState = nextState;
        Signal = signal;
        Action = action;
        Reason = reason;
    }

    /// <summary>The next state.</summary>
    public IState<TObserved, TDesired> NextState { get; }

    /// <summary>The signal to the node.</summary>
    public Signal Signal { get; }

    /// <summary>The action to enqueue, if any.</summary>
    public IAction? Action { get; }

    /// <summary>Free-text reason; <see langword="null"/> keeps <c>""</c>.</summary>
    public string? Reason { get; }
}

/// <summary>Helpers that build a <see cref="Transition{TObserved, TDesired}"/> with the type arguments inferred.</summary>
public static class Transition
{
    /// <summary>Moves to (or stays in) <paramref name="state"/> without an action.</summary>
    /// <param name="state">The next state.</param>
    /// <param name="reason">Why.</param>
    /// <returns>The transition.</returns>
    public static Transition<TObserved, TDesired> To<TObserved, TDesired>(IState<TObserved, TDesired> state, string? reason = null)
        where TObserved : class
        => new(state, Signal.None, null, reason);

    /// <summary>Stays in <paramref name="current"/> and emits <paramref name="action"/>.</summary>
    /// <param name="current">The current state (the state whose <c>Next</c> is running).</param>
    /// <param name="action">The action to enqueue.</param>
    /// <param name="reason">Why.</param>
    /// <returns>The transition.</returns>
    public static Transition<TObserved, TDesired> Act<TObserved, TDesired>(IState<TObserved, TDesired> current, IAction action, string? reason = null)
        where TObserved : class
        => new(current, Signal.None, action, reason);

    /// <summary>Stays in <paramref name="current"/> and sends <paramref name="signal"/>.</summary>
    /// <param name="current">The current state.</param>
    /// <param name="signal">The signal.</param>
    /// <param name="reason">Why.</param>
    /// <returns>The transition.</returns>
    public static Transition<TObserved, TDesired> Emit<TObserved, TDesired>(IState<TObserved, TDesired> current, Signal signal, string? reason = null)
        where TObserved : class
        => new(current, signal, null, reason);
}
