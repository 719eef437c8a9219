namespace Fsm2.Edge.Workers;

/// <summary>
/// A side effect emitted by a state. Actions run off the tick thread, at most one per worker at a time, and must be
/// idempotent: running one once or several times leads to the same end state. The FSM learns what an action did from
/// later observations, not from its completion.
/// </summary>
public interface IAction
{
    /// <summary>A stable name such as <c>start-process</c>, used in logs and as a metric tag.</summary>
    string Kind { get; }

    /// <summary>The per-action timeout; <see langword="null"/> takes the executor default (30 s).</summary>
    TimeSpan? Timeout => null;

    /// <summary>Performs the side effect. Must honour <paramref name="cancellationToken"/>.</summary>
    /// <param name="context">Who the action runs for, with the runtime's clock and logger.</param>
    /// <param name="cancellationToken">Cancelled on timeout, removal or runtime shutdown.</param>
    /// <returns>A task that completes when the side effect is done.</returns>
    ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken);
}
