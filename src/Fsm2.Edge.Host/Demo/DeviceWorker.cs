using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Host.Demo;

/// <summary>What the demo device reports: whether its (simulated) output is energised.</summary>
internal sealed record DeviceObserved(bool Energised);

/// <summary>
/// A demo leaf device (a pump or a valve) driven by its desired state: <c>running</c>/<c>open</c> energise it,
/// anything else de-energises it. Switching takes <see cref="SwitchTime"/>, as a relay or a motor starter would,
/// so the intermediate states are visible in the demo.
/// </summary>
internal sealed class DeviceWorker : IWorker<DeviceObserved, string>
{
    /// <summary>How long a simulated switch takes; 400 ms is arbitrary, long enough to see the active states.</summary>
    public static readonly TimeSpan SwitchTime = TimeSpan.FromMilliseconds(400);

    private static readonly DeviceObserved s_on = new(true);
    private static readonly DeviceObserved s_off = new(false);
    private int _energised;

    public bool Energised => Volatile.Read(ref _energised) != 0;

    public ValueTask<DeviceObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken)
        => ValueTask.FromResult(Energised ? s_on : s_off);

    public DerivedState<string> DeriveDesiredState(UserSpec spec)
        => new(spec.Config.Length == 0 ? "stopped" : spec.Config, spec.Config);

    public IState<DeviceObserved, string> GetInitialState() => DeviceStates.Stopped;

    public void Set(bool energised) => Volatile.Write(ref _energised, energised ? 1 : 0);

    public static bool WantsEnergised(string desired) => desired is "running" or "open";
}

/// <summary>The device FSM: <c>stopped → starting → running → stopping → stopped</c>.</summary>
internal static class DeviceStates
{
    public static readonly IState<DeviceObserved, string> Stopped = new StoppedState();
    public static readonly IState<DeviceObserved, string> Starting = new StartingState();
    public static readonly IState<DeviceObserved, string> Running = new RunningState();
    public static readonly IState<DeviceObserved, string> Stopping = new StoppingState();

    private sealed class StoppedState : IState<DeviceObserved, string>
    {
        public string Name => "stopped";

        public Transition<DeviceObserved, string> Next(in Snapshot<DeviceObserved, string> s)
        {
            if (s.ShutdownRequested)
            {
                return s.Observed.Energised ? Transition.To(Stopping, "shutdown") : Transition.Emit(this, Signal.NeedsRemoval, "shut down");
            }

            return DeviceWorker.WantsEnergised(s.Desired.State) ? Transition.To(Starting, $"desired {s.Desired.State}") : Transition.To(this);
        }
    }

    private sealed class StartingState : IState<DeviceObserved, string>
    {
        public string Name => "starting";

        public Transition<DeviceObserved, string> Next(in Snapshot<DeviceObserved, string> s)
        {
            if (s.ShutdownRequested || !DeviceWorker.WantsEnergised(s.Desired.State))
            {
                return Transition.To(Stopping, s.ShutdownRequested ? "shutdown" : $"desired {s.Desired.State}");
            }

            return s.Observed.Energised ? Transition.To(Running, "output energised") : Transition.Act(this, SwitchAction.On, "energising");
        }
    }

    private sealed class RunningState : IState<DeviceObserved, string>
    {
        public string Name => "running";

        public Transition<DeviceObserved, string> Next(in Snapshot<DeviceObserved, string> s)
        {
            if (s.ShutdownRequested || !DeviceWorker.WantsEnergised(s.Desired.State))
            {
                return Transition.To(Stopping, s.ShutdownRequested ? "shutdown" : $"desired {s.Desired.State}");
            }

            return s.Observed.Energised ? Transition.To(this) : Transition.To(Starting, "output dropped");
        }
    }

    private sealed class StoppingState : IState<DeviceObserved, string>
    {
        public string Name => "stopping";

        public Transition<DeviceObserved, string> Next(in Snapshot<DeviceObserved, string> s)
            => s.Observed.Energised ? Transition.Act(this, SwitchAction.Off, "de-energising") : Transition.To(Stopped, "output off");
    }

    /// <summary>Switches the simulated output; idempotent.</summary>
    private sealed class SwitchAction(bool on) : IAction
    {
        public static readonly SwitchAction On = new(true);
        public static readonly SwitchAction Off = new(false);

        public string Kind => on ? "energise" : "de-energise";

        public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            var device = (DeviceWorker)context.Dependencies;
            if (device.Energised == on)
            {
                return;
            }

            await Task.Delay(DeviceWorker.SwitchTime, context.Time, cancellationToken).ConfigureAwait(false);
            device.Set(on);
        }
    }
}
