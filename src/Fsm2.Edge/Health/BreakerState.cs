namespace Fsm2.Edge.Health;

/// <summary>The state of a node's infrastructure circuit breaker (30-supervision §5.2).</summary>
public enum BreakerState : byte
{
    /// <summary>Healthy: evaluated on every tick; the node runs in full mode.</summary>
    Closed,

    /// <summary>Unhealthy: nothing is evaluated until the next trial; the node runs health-only.</summary>
    Open,

    /// <summary>The single trial evaluation, entered and resolved within one tick (never seen in a published status).</summary>
    HalfOpen,
}

/// <summary>The mode a node ran in on its latest tick (30-supervision §4.1).</summary>
public enum NodeMode : byte
{
    /// <summary>The whole core tick: derive, reconcile, mapping, children, <c>Next</c>, enqueue.</summary>
    Full,

    /// <summary>Supervision only (breaker, panic window, collector supervision, children): the node or an ancestor is open.</summary>
    HealthOnly,

    /// <summary>The node is winding down (removal, restart or runtime shutdown); supervision gates are bypassed.</summary>
    Shutdown,
}
