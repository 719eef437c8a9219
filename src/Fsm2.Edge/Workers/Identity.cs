namespace Fsm2.Edge.Workers;

/// <summary>
/// The immutable identity of one worker instance. A worker re-created at the same path gets an identity with the same
/// values, but the node counts a new incarnation.
/// </summary>
/// <param name="Id">The node path, unique in the runtime (<c>pc1/conn</c>); the root's id is <c>""</c>.</param>
/// <param name="Name">The last path segment: the name from the <see cref="ChildSpec"/>.</param>
/// <param name="WorkerType">The factory key the worker was created with.</param>
/// <param name="ParentId">The parent worker's <see cref="Id"/>; <c>""</c> for the root and for top-level entries.</param>
public sealed record Identity(string Id, string Name, string WorkerType, string ParentId);
