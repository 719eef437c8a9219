namespace Fsm2.Edge.Health;

/// <summary>Why a health evaluation failed (30-supervision §5.1). Sorted by kind, then by name (ordinal).</summary>
public enum HealthCauseKind : byte
{
    /// <summary>An active child's breaker is not Closed.</summary>
    ChildBreakerOpen,

    /// <summary>An active child's panic breaker is open.</summary>
    ChildPanicBreakerOpen,

    /// <summary>An active child is flagged collector-dead; the only cause a restart remedies.</summary>
    ChildCollectorDead,

    /// <summary>A probe attached to the node is unhealthy, or its verdict is older than 3 × its interval.</summary>
    ProbeFailed,
}

/// <summary>One cause of a failed health evaluation: its kind and the child name or probe id.</summary>
/// <param name="Kind">The cause.</param>
/// <param name="Name">The child name, or the probe id for <see cref="HealthCauseKind.ProbeFailed"/>.</param>
public readonly record struct HealthCause(HealthCauseKind Kind, string Name)
{
    /// <summary>The spec's notation, for example <c>ChildBreakerOpen(conn)</c>.</summary>
    /// <returns>The cause as text.</returns>
    public override string ToString() => $"{Kind}({Name})";

    /// <summary>The order of §5.1: by kind, then by name (ordinal).</summary>
    internal static int Compare(HealthCause a, HealthCause b)
    {
        int byKind = a.Kind.CompareTo(b.Kind);
        return byKind != 0 ? byKind : string.CompareOrdinal(a.Name, b.Name);
    }
}
