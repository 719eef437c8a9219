using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Workers;

/// <summary>What an action knows about the worker it runs for. Built on the tick thread without allocating.</summary>
public readonly struct ActionContext
{
    /// <summary>The identity of the worker that emitted the action.</summary>
    public Identity Worker { get; init; }

    /// <summary>The node path (equal to <see cref="Identity.Id"/>).</summary>
    public string NodePath { get; init; }

    /// <summary>The worker's injected dependencies: the worker instance itself, which received them in its constructor.</summary>
    public object Dependencies { get; init; }

    /// <summary>Immutable data captured at enqueue: the desired-state record the emitting state looked at.</summary>
    public object? Args { get; init; }

    /// <summary>The runtime's clock.</summary>
    public TimeProvider Time { get; init; }

    /// <summary>The runtime's logger for actions.</summary>
    public ILogger Logger { get; init; }
}
