using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Supervision;

/// <summary>
/// The built-in worker of the root node (type <c>runtime</c>): its derive declares the configuration's top-level
/// entries as children; its desired state is <c>running</c> until the runtime shuts down.
/// </summary>
internal sealed class RootWorker : IWorker<RootWorker.Observed, RootWorker.Config>
{
    private readonly SupervisorRuntime _runtime;

    public RootWorker(SupervisorRuntime runtime) => _runtime = runtime;

    public ValueTask<Observed> CollectObservedStateAsync(DesiredState<Config> desired, CancellationToken cancellationToken)
        => ValueTask.FromResult(Observed.Instance);

    public DerivedState<Config> DeriveDesiredState(UserSpec spec) => new("running", Config.Instance, _runtime.Configuration);

    public IState<Observed, Config> GetInitialState() => Running.Instance;

    /// <summary>The root observes nothing: the runtime itself is its observation.</summary>
    internal sealed class Observed
    {
        public static readonly Observed Instance = new();
    }

    internal sealed class Config
    {
        public static readonly Config Instance = new();
    }

    private sealed class Running : IState<Observed, Config>
    {
        public static readonly Running Instance = new();

        public string Name => "running";

        public Transition<Observed, Config> Next(in Snapshot<Observed, Config> snapshot)
            => snapshot.ShutdownRequested ? Transition.Emit(this, Signal.NeedsRemoval, "runtime shutdown") : new(this);
    }
}
