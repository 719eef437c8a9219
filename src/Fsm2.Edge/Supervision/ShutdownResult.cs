namespace Fsm2.Edge.Supervision;

/// <summary>The outcome of <see cref="SupervisorRuntime.ShutdownAsync"/>.</summary>
/// <param name="Clean"><see langword="true"/> when every node drained without being forced.</param>
/// <param name="ForcedNodes">Paths of the nodes that were force-finalized.</param>
/// <param name="Elapsed">Time from the request to the end of the drain.</param>
public sealed record ShutdownResult(bool Clean, IReadOnlyList<string> ForcedNodes, TimeSpan Elapsed);
