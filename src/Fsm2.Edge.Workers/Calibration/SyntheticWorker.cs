using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Workers.Calibration;

/// <summary>
/// The synthetic worker shared by the benchmarks, the allocation tests, the load tool and the demo
/// (shared/spec/70-performance.md §5): four states, a simulated process that start/stop actions switch, and a
/// cached child list for parents so a steady tick never re-derives.
/// </summary>
public sealed class SyntheticWorker : IWorker<SyntheticObserved, string>
{
    private static readonly SyntheticObserved s_startedObservation = new(true, 0, 0);
    private static readonly SyntheticObserved s_stoppedObservation = new(false, 0, 0);

    private readonly IReadOnlyList<ChildSpec>? _children;
    private readonly Func<IReadOnlyList<ChildSpec>?>? _childSource;
    private int _started;

    /// <summary>Creates a worker.</summary>
    /// <param name="children">The cached child declaration (for parents), or <see langword="null"/>.</param>
    /// <param name="startedInitially">Whether the simulated process already runs (skips the start action).</param>
    public SyntheticWorker(IReadOnlyList<ChildSpec>? children = null, bool startedInitially = false)
    {
        _children = children;
        _started = startedInitially ? 1 : 0;
    }

    /// <summary>
    /// Creates a parent whose declaration is read from <paramref name="childSource"/> at every derive (the change ticks of
    /// <see cref="SyntheticWorkload"/>: a derive happens only when the parent's inputs changed).
    /// </summary>
    internal SyntheticWorker(bool startedInitially, Func<IReadOnlyList<ChildSpec>?> childSource)
        : this(children: null, startedInitially)
        => _childSource = childSource;

    /// <summary>Whether the simulated process runs.</summary>
    public bool IsProcessRunning => Volatile.Read(ref _started) != 0;

    /// <inheritdoc/>
    public ValueTask<SyntheticObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken)
        => ValueTask.FromResult(IsProcessRunning ? s_startedObservation : s_stoppedObservation);

    /// <inheritdoc/>
    public DerivedState<string> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string state = spec.Config.Length == 0 ? SyntheticStates.ActiveState : spec.Config;
        return new DerivedState<string>(state, spec.Config, _childSource?.Invoke() ?? _children);
    }

    /// <inheritdoc/>
    public IState<SyntheticObserved, string> GetInitialState() => SyntheticStates.Stopped.Instance;

    /// <summary>Starts the simulated process (what <see cref="SyntheticStates.StartAction"/> does).</summary>
    public void StartProcess() => Volatile.Write(ref _started, 1);

    /// <summary>Stops the simulated process (what <see cref="SyntheticStates.StopAction"/> does).</summary>
    public void StopProcess() => Volatile.Write(ref _started, 0);
}
