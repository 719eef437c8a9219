using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Workers.Calibration;

/// <summary>The four states of the synthetic worker and its two actions.</summary>
public static class SyntheticStates
{
    /// <summary>The desired state that makes the worker run.</summary>
    public const string ActiveState = "active";

    /// <summary>Passive: nothing runs. Shutdown → NeedsRemoval; desired active → TryingToStart.</summary>
    public sealed class Stopped : IState<SyntheticObserved, string>
    {
        /// <summary>The singleton.</summary>
        public static readonly Stopped Instance = new();

        private Stopped()
        {
        }

        /// <inheritdoc/>
        public string Name => "stopped";

        /// <inheritdoc/>
        public Transition<SyntheticObserved, string> Next(in Snapshot<SyntheticObserved, string> snapshot)
        {
            if (snapshot.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shut down");
            }

            return snapshot.Desired.State == ActiveState
                ? Transition.To(TryingToStart.Instance, "desired active")
                : Transition.To(this);
        }
    }

    /// <summary>Active: emits <see cref="StartAction"/> until the process is observed running.</summary>
    public sealed class TryingToStart : IState<SyntheticObserved, string>
    {
        /// <summary>The singleton.</summary>
        public static readonly TryingToStart Instance = new();

        private TryingToStart()
        {
        }

        /// <inheritdoc/>
        public string Name => "trying_to_start";

        /// <inheritdoc/>
        public Transition<SyntheticObserved, string> Next(in Snapshot<SyntheticObserved, string> snapshot)
        {
            if (snapshot.ShutdownRequested || snapshot.Desired.State != ActiveState)
            {
                return Transition.To(TryingToStop.Instance, "stop requested");
            }

            return snapshot.Observed.Started
                ? Transition.To(Running.Instance, "process running")
                : Transition.Act(this, StartAction.Instance, "starting process");
        }
    }

    /// <summary>Passive: the process runs. Shutdown or desired not active → TryingToStop.</summary>
    public sealed class Running : IState<SyntheticObserved, string>
    {
        /// <summary>The singleton.</summary>
        public static readonly Running Instance = new();

        private Running()
        {
        }

        /// <inheritdoc/>
        public string Name => "running";

        /// <inheritdoc/>
        public Transition<SyntheticObserved, string> Next(in Snapshot<SyntheticObserved, string> snapshot)
        {
            if (snapshot.ShutdownRequested || snapshot.Desired.State != ActiveState)
            {
                return Transition.To(TryingToStop.Instance, "stop requested");
            }

            return snapshot.Observed.Started ? Transition.To(this) : Transition.To(TryingToStart.Instance, "process exited");
        }
    }

    /// <summary>Active: emits <see cref="StopAction"/> until the process is observed stopped.</summary>
    public sealed class TryingToStop : IState<SyntheticObserved, string>
    {
        /// <summary>The singleton.</summary>
        public static readonly TryingToStop Instance = new();

        private TryingToStop()
        {
        }

        /// <inheritdoc/>
        public string Name => "trying_to_stop";

        /// <inheritdoc/>
        public Transition<SyntheticObserved, string> Next(in Snapshot<SyntheticObserved, string> snapshot)
            => snapshot.Observed.Started
                ? Transition.Act(this, StopAction.Instance, "stopping process")
                : Transition.To(Stopped.Instance, "process stopped");
    }

    /// <summary>Starts the simulated process; idempotent.</summary>
    public sealed class StartAction : IAction
    {
        /// <summary>The singleton.</summary>
        public static readonly StartAction Instance = new();

        /// <inheritdoc/>
        public string Kind => "start-process";

        /// <inheritdoc/>
        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            ((SyntheticWorker)context.Dependencies).StartProcess();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Stops the simulated process; idempotent.</summary>
    public sealed class StopAction : IAction
    {
        /// <summary>The singleton.</summary>
        public static readonly StopAction Instance = new();

        /// <inheritdoc/>
        public string Kind => "stop-process";

        /// <inheritdoc/>
        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            ((SyntheticWorker)context.Dependencies).StopProcess();
            return ValueTask.CompletedTask;
        }
    }
}
