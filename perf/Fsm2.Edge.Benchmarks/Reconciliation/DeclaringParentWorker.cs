using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Benchmarks.Reconciliation;

/// <summary>
/// The extra parent of W3: a synthetic parent (the four synthetic states) whose declaration follows its config
/// text: empty declares no children, anything else declares one constant list of synthetic leaves. Toggling the config
/// is the "one config change" of W3; the list instance never changes, so its fingerprint stays constant.
/// </summary>
internal sealed class DeclaringParentWorker : IWorker<SyntheticObserved, string>
{
    /// <summary>The worker type.</summary>
    public const string WorkerType = "synthetic-declaring-parent";

    private static readonly SyntheticObserved s_running = new(Started: true, Version: 0, Value: 0);

    private readonly IReadOnlyList<ChildSpec> _declared;

    public DeclaringParentWorker(IReadOnlyList<ChildSpec> declared) => _declared = declared;

    public ValueTask<SyntheticObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken)
        => ValueTask.FromResult(s_running);

    public DerivedState<string> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new DerivedState<string>(SyntheticStates.ActiveState, spec.Config, spec.Config.Length == 0 ? null : _declared);
    }

    public IState<SyntheticObserved, string> GetInitialState() => SyntheticStates.Stopped.Instance;
}
