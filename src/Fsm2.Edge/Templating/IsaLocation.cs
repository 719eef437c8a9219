namespace Fsm2.Edge.Templating;

/// <summary>ISA-95 location levels of a node; a child's levels are merged over its parent's.</summary>
/// <param name="Enterprise">Enterprise level.</param>
/// <param name="Site">Site level.</param>
/// <param name="Area">Area level.</param>
/// <param name="Line">Line level.</param>
/// <param name="Cell">Cell level.</param>
public sealed record IsaLocation(
    string? Enterprise = null,
    string? Site = null,
    string? Area = null,
    string? Line = null,
    string? Cell = null);
