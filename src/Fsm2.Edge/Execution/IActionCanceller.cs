namespace Fsm2.Edge.Execution;

/// <summary>
/// An executor that cancels an in-flight action by envelope and ticket rather than through a token source the slot
/// holds: the ring executor reuses one token source per action thread, so a stale reference could otherwise cancel a
/// later, unrelated action.
/// </summary>
internal interface IActionCanceller
{
    /// <summary>
    /// Tick thread: asks for the action with <paramref name="ticket"/> in <paramref name="envelope"/> to be cancelled.
    /// Never waits and never runs cancellation callbacks on the calling thread.
    /// </summary>
    void RequestCancel(int envelope, long ticket);
}
