using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Host.Demo;

/// <summary>The line's observation: nothing of its own; its state comes from its children's states.</summary>
internal sealed record LineObserved
{
    public static readonly LineObserved Instance = new();
}

/// <summary>
/// A demo parent: a production line with a pump and a valve. Its desired state (<c>production</c> or
/// <c>maintenance</c>) is mapped onto its children: in production the pump runs and the valve is open; in
/// maintenance the pump stops and the valve closes.
/// </summary>
internal sealed class LineWorker : IWorker<LineObserved, string>
{
    private static readonly IReadOnlyList<ChildSpec> s_children =
    [
        new ChildSpec("pump", "device", new UserSpec("stopped"), new Dictionary<string, string>
        {
            ["production"] = "running",
            ["maintenance"] = "stopped",
        }),
        new ChildSpec("valve", "device", new UserSpec("closed"), new Dictionary<string, string>
        {
            ["production"] = "open",
            ["maintenance"] = "closed",
        }),
    ];

    public ValueTask<LineObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken)
        => ValueTask.FromResult(LineObserved.Instance);

    public DerivedState<string> DeriveDesiredState(UserSpec spec)
        => new(spec.Config.Length == 0 ? "production" : spec.Config, spec.Config, s_children);

    public IState<LineObserved, string> GetInitialState() => LineStates.Idle;
}

/// <summary>The line FSM reads its children through the children view: <c>idle → producing</c>, or <c>degraded</c>.</summary>
internal static class LineStates
{
    public static readonly IState<LineObserved, string> Idle = new IdleState();
    public static readonly IState<LineObserved, string> Producing = new ProducingState();

    private static bool AllRunning(in Snapshot<LineObserved, string> s)
        => s.Children.GetState("pump") == "running" && s.Children.GetState("valve") == "running";

    private sealed class IdleState : IState<LineObserved, string>
    {
        public string Name => "idle";

        public Transition<LineObserved, string> Next(in Snapshot<LineObserved, string> s)
        {
            if (s.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shut down");
            }

            return s.Desired.State == "production" && AllRunning(in s)
                ? Transition.To(Producing, "pump running, valve open")
                : Transition.To(this, s.Desired.State == "production" ? "waiting for pump and valve" : "maintenance");
        }
    }

    private sealed class ProducingState : IState<LineObserved, string>
    {
        public string Name => "producing";

        public Transition<LineObserved, string> Next(in Snapshot<LineObserved, string> s)
        {
            if (s.ShutdownRequested || s.Desired.State != "production" || !AllRunning(in s))
            {
                return Transition.To(Idle, s.ShutdownRequested ? "shutdown" : s.Desired.State != "production" ? "maintenance" : "a child stopped");
            }

            return Transition.To(this);
        }
    }
}
