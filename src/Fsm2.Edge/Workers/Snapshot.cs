using Fsm2.Edge.Execution;

namespace Fsm2.Edge.Workers;

/// <summary>
/// The complete, point-in-time input to <see cref="IState{TObserved, TDesired}.Next"/>. Passed by reference; building
/// it allocates nothing because every member references an existing immutable object.
/// </summary>
/// <typeparam name="TObserved">The worker's observation type.</typeparam>
/// <typeparam name="TDesired">The worker's typed configuration.</typeparam>
public readonly struct Snapshot<TObserved, TDesired>
    where TObserved : class
{
    /// <summary>Creates a snapshot (the node does this on every evaluation; tests and benchmarks may too).</summary>
    /// <param name="identity">The worker's identity.</param>
    /// <param name="observation">The latest observation.</param>
    /// <param name="desired">The current desired record.</param>
    /// <param name="children">The children view; <see langword="null"/> becomes <see cref="ChildrenView.Empty"/>.</param>
    /// <param name="now">The tick timestamp.</param>
    public Snapshot(
        Identity identity,
        Observation<TObserved> observation,
        DesiredState<TDesired> desired,
        ChildrenView? children,
        DateTimeOffset now)
    {
        Identity = identity;
        Observation = observation;
        Desired = desired;
        Children = children ?? ChildrenView.Empty;
        Now = now;
    }

    /// <summary>Creates a snapshot that also carries the worker's action status (the node builds this one).</summary>
    /// <param name="identity">The worker's identity.</param>
    /// <param name="observation">The latest observation.</param>
    /// <param name="desired">The current desired record.</param>
    /// <param name="children">The children view; <see langword="null"/> becomes <see cref="ChildrenView.Empty"/>.</param>
    /// <param name="now">The tick timestamp.</param>
    /// <param name="action">The worker's action status.</param>
    public Snapshot(
        Identity identity,
        Observation<TObserved> observation,
        DesiredState<TDesired> desired,
        ChildrenView? children,
        DateTimeOffset now,
        in ActionStatus action)
        : this(identity, observation, desired, children, now)
    {
        Action = action;
    }

    /// <summary>The worker's identity.</summary>
    public Identity Identity { get; }

    /// <summary>The latest observation: value, collection time, sequence.</summary>
    public Observation<TObserved> Observation { get; }

    /// <summary>The latest observed value.</summary>
    public TObserved Observed => Observation.Value;

    /// <summary>The current desired record.</summary>
    public DesiredState<TDesired> Desired { get; }

    /// <summary>The active children as of this tick; empty for leaf workers.</summary>
    public ChildrenView Children { get; }

    /// <summary>The tick timestamp; the same for every node in one tick. States never read a clock.</summary>
    public DateTimeOffset Now { get; }

    /// <summary>
    /// The worker's action in flight, last result and backoff (40-actions §9): how <c>Next</c> sees what its actions
    /// did, and the input for policies such as "after 5 failures go to degraded". A struct copy, no allocation.
    /// </summary>
    public ActionStatus Action { get; }

    /// <summary>The sticky wind-down flag: every state checks it first.</summary>
    public bool ShutdownRequested => Desired.ShutdownRequested;
}
