namespace Fsm2.Edge.Workers.Calibration;

/// <summary>
/// The ring phase's worker (<see cref="Calibrator"/>, step 4): one state that asks for a no-op action whenever the worker
/// is free to act, so every tick enqueues one action per worker once the previous one completed and was observed.
/// </summary>
internal sealed class RingProbeWorker : IWorker<SyntheticObserved, string>
{
    public const string WorkerType = "calibration-ring-probe";

    private static readonly SyntheticObserved s_running = new(Started: true, Version: 0, Value: 0);

    private readonly Counter _executed;

    public RingProbeWorker(Counter executed) => _executed = executed;

    public ValueTask<SyntheticObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken)
        => ValueTask.FromResult(s_running);

    public DerivedState<string> DeriveDesiredState(UserSpec spec) => new(SyntheticStates.ActiveState, "");

    public IState<SyntheticObserved, string> GetInitialState() => Pulsing.Instance;

    /// <summary>Executions of the no-op action by one ring phase's workers (read after the action threads went idle).</summary>
    internal sealed class Counter
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }

    /// <summary>A no-op action that counts its execution on its worker's <see cref="Counter"/>.</summary>
    private sealed class NoOpAction : IAction
    {
        public static readonly NoOpAction Instance = new();

        public string Kind => "calibration-noop";

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            ((RingProbeWorker)context.Dependencies)._executed.Increment();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>The only state: asks for the no-op action whenever the worker may act.</summary>
    private sealed class Pulsing : IState<SyntheticObserved, string>
    {
        public static readonly Pulsing Instance = new();

        public string Name => "pulsing";

        public Transition<SyntheticObserved, string> Next(in Snapshot<SyntheticObserved, string> snapshot)
            => snapshot.ShutdownRequested
                ? Transition.Emit(this, Signal.NeedsRemoval, "shut down")
                : Transition.Act(this, NoOpAction.Instance, "pulse");
    }
}
