namespace Fsm2.Edge.Workers;

/// <summary>What a parent may know of one active child: its type, FSM state and reason.</summary>
/// <param name="Name">The child's name.</param>
/// <param name="WorkerType">The child's worker type.</param>
/// <param name="State">The child worker's current state name.</param>
/// <param name="Reason">The reason its state gave on its latest evaluation.</param>
public readonly record struct ChildInfo(string Name, string WorkerType, string State, string Reason);
