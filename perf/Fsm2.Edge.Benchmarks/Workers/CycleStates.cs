using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Benchmarks.Workers;

/// <summary>What the benchmark worker observes: whether its process runs.</summary>
/// <param name="Running">The process runs.</param>
public sealed record CycleObserved(bool Running);

/// <summary>
/// The four lifecycle states of <see cref="TransitionBenchmarks"/>, written as a pack worker writes them: singletons,
/// the shutdown flag checked first, then the desired state, then the observation. Pure and allocation-free.
/// </summary>
public static class CycleStates
{
    /// <summary>The desired and state name <c>active</c>.</summary>
    public const string ActiveName = "active";

    /// <summary>The desired and state name <c>stopped</c>.</summary>
    public const string StoppedName = "stopped";

    /// <summary>The initial state.</summary>
    public static IState<CycleObserved, string> Stopped => StoppedState.Instance;

    private static bool WantsActive(in Snapshot<CycleObserved, string> s)
        => !s.ShutdownRequested && string.Equals(s.Desired.State, ActiveName, StringComparison.Ordinal);

    private sealed class StoppedState : IState<CycleObserved, string>
    {
        public static readonly StoppedState Instance = new();

        public string Name => StoppedName;

        public Transition<CycleObserved, string> Next(in Snapshot<CycleObserved, string> snapshot)
        {
            if (snapshot.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shutdown");
            }

            return WantsActive(in snapshot)
                ? Transition.To<CycleObserved, string>(TryingToStartState.Instance, "desired active")
                : Transition.To(this);
        }
    }

    private sealed class TryingToStartState : IState<CycleObserved, string>
    {
        public static readonly TryingToStartState Instance = new();

        public string Name => "trying_to_start";

        public Transition<CycleObserved, string> Next(in Snapshot<CycleObserved, string> snapshot)
        {
            if (!WantsActive(in snapshot))
            {
                return Transition.To<CycleObserved, string>(TryingToStopState.Instance, "desired stopped");
            }

            return snapshot.Observed.Running
                ? Transition.To<CycleObserved, string>(ActiveState.Instance, "running")
                : Transition.To(this, "starting");
        }
    }

    private sealed class ActiveState : IState<CycleObserved, string>
    {
        public static readonly ActiveState Instance = new();

        public string Name => ActiveName;

        public Transition<CycleObserved, string> Next(in Snapshot<CycleObserved, string> snapshot)
        {
            if (!WantsActive(in snapshot))
            {
                return Transition.To<CycleObserved, string>(TryingToStopState.Instance, "desired stopped");
            }

            return snapshot.Observed.Running
                ? Transition.To(this)
                : Transition.To<CycleObserved, string>(TryingToStartState.Instance, "not running");
        }
    }

    private sealed class TryingToStopState : IState<CycleObserved, string>
    {
        public static readonly TryingToStopState Instance = new();

        public string Name => "trying_to_stop";

        public Transition<CycleObserved, string> Next(in Snapshot<CycleObserved, string> snapshot)
        {
            if (snapshot.Observed.Running)
            {
                return Transition.To(this, "stopping");
            }

            return snapshot.ShutdownRequested
                ? Transition.Emit(this, Signal.NeedsRemoval, "stopped for shutdown")
                : Transition.To<CycleObserved, string>(StoppedState.Instance, "stopped");
        }
    }
}
