using System.Text.Json;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.DeviceSimulator;

/// <summary>
/// What a device simulator observes (50-runtime-monitoring §7.6), plus the growth of its publish errors.
/// <c>Publishing</c> means publishing with the current desired config; <c>Running</c> with any config (what the
/// stopping path waits to end).
/// </summary>
internal sealed record SimulatorObserved(
    bool Publishing,
    bool Running,
    bool BrokerConnected,
    long PublishedTotal,
    long PublishErrors,
    long PublishErrorsSincePrevious,
    DateTimeOffset? LastPublishAt,
    long WritesApplied,
    bool Listening,
    string? LastError);

/// <summary>
/// The <c>device-simulator</c> (50-runtime-monitoring §7.6): publishes <c>{"timestamp_ms":…,"value":…}</c> for each
/// tag to <c>{topic_prefix}/{device}/{tag}</c> from a <see cref="TimeProvider"/> timer that its actions start and stop.
/// A writable tag takes the value written to <c>…/{tag}/set</c> (<c>{"value":x}</c> or a bare number) and keeps
/// publishing it until the next write or a restart of the simulator.
/// </summary>
internal sealed class DeviceSimulatorWorker : IWorker<SimulatorObserved, SimulatorConfig>, IWorkerStatusWriter<SimulatorObserved>
{
    private readonly Identity _identity;
    private readonly WorkerPackOptions _options;

    // Where the faults.active_for window starts when a spec carries no internal.created_at (a spec built outside the
    // runtime, such as validation's dry derive): this instance's creation.
    private readonly DateTimeOffset _createdAt;

    // Owner: the collector.
    private long _previousErrors;

    public DeviceSimulatorWorker(Identity identity, WorkerPackOptions options)
    {
        _identity = identity;
        _options = options;
        _createdAt = options.Time.GetUtcNow();
        Engine = new SimulatorEngine(identity.Id, options, options.Logger(WorkerPack.DeviceSimulatorType));
    }

    internal SimulatorEngine Engine { get; }

    public ValueTask<SimulatorObserved> CollectObservedStateAsync(DesiredState<SimulatorConfig> desired, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(desired);
        SimulatorConfig config = desired.Config;
        DateTimeOffset now = _options.Time.GetUtcNow();
        if (!config.FaultsActive(now))
        {
            return ValueTask.FromResult(Observe(desired));
        }

        if (config.CollectThrows)
        {
            // faults.collect_throws: the collection fails (the collector contains it, site collect; freshness covers it).
            throw new InvalidOperationException($"faults.collect_throws: simulated collection failure of '{_identity.Id}'");
        }

        if (config.CollectorDelay <= TimeSpan.Zero)
        {
            return ValueTask.FromResult(Observe(desired));
        }

        // faults.collector_delay: the observation blocks that long (off the tick thread, on the collector), but never past
        // the end of the fault window.
        TimeSpan delay = config.FaultsUntil is { } until && until - now < config.CollectorDelay ? until - now : config.CollectorDelay;
        return CollectSlowlyAsync(desired, delay, cancellationToken);
    }

    private async ValueTask<SimulatorObserved> CollectSlowlyAsync(DesiredState<SimulatorConfig> desired, TimeSpan delay, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, _options.Time, cancellationToken).ConfigureAwait(false);
        return Observe(desired);
    }

    private SimulatorObserved Observe(DesiredState<SimulatorConfig> desired)
    {
        long errors = Engine.PublishErrors;
        var observed = new SimulatorObserved(
            Engine.IsPublishing(desired.Config),
            Engine.IsPublishingAny,
            _options.Mqtt.State.IsConnected,
            Engine.Published,
            errors,
            errors - _previousErrors,
            Engine.LastPublishAt,
            Engine.WritesApplied,
            Engine.Listening,
            Engine.LastError);
        _previousErrors = errors;
        return observed;
    }

    public DerivedState<SimulatorConfig> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        // The fault window starts at the node's creation, which a restart by the parent keeps (SimulatorConfig remarks).
        DateTimeOffset faultsFrom = spec.Variables.Internal is { } internalVariables
            && internalVariables.TryGetValue("created_at", out object? createdAt) && createdAt is DateTimeOffset nodeCreatedAt
            ? nodeCreatedAt
            : _createdAt;
        return new DerivedState<SimulatorConfig>(PackStates.Active, SimulatorConfig.Parse(spec.Config, _identity.Id, faultsFrom));
    }

    /// <summary>
    /// <c>faults.next_throws</c>: every state's <c>Next</c> throws (a Bug-class panic, site <c>next</c>) while the fault
    /// window is open. It decides from <see cref="Snapshot{TObserved, TConfig}.Now"/> and the config only, so Next stays pure.
    /// </summary>
    private static void ThrowIfNextFault(in Snapshot<SimulatorObserved, SimulatorConfig> snapshot, string state)
    {
        SimulatorConfig config = snapshot.Desired.Config;
        if (config.NextThrows && config.FaultsActive(snapshot.Now))
        {
            throw new InvalidOperationException($"faults.next_throws: simulated fault in Next of state '{state}'");
        }
    }

    public IState<SimulatorObserved, SimulatorConfig> GetInitialState() => Stopped.Instance;

    /// <summary>The <c>observed</c> status object (50-runtime-monitoring §7.6): <c>publishing</c>, <c>brokerConnected</c>,
    /// <c>publishedTotal</c>, <c>publishErrors</c>, <c>lastPublishAt</c>, <c>writesApplied</c>, <c>listening</c>,
    /// <c>lastError</c>.</summary>
    public void WriteStatus(Utf8JsonWriter writer, SimulatorObserved observed, ChildrenView children)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(observed);
        writer.WriteBoolean("publishing", observed.Publishing);
        writer.WriteBoolean("brokerConnected", observed.BrokerConnected);
        writer.WriteNumber("publishedTotal", observed.PublishedTotal);
        writer.WriteNumber("publishErrors", observed.PublishErrors);
        StatusJson.WriteTime(writer, "lastPublishAt", observed.LastPublishAt);
        writer.WriteNumber("writesApplied", observed.WritesApplied);
        writer.WriteBoolean("listening", observed.Listening);
        StatusJson.WriteString(writer, "lastError", observed.LastError);
    }

    private static bool StopRequested(in Snapshot<SimulatorObserved, SimulatorConfig> s)
        => s.ShutdownRequested || s.Desired.State != PackStates.Active;

    private static string? Unhealthy(in Snapshot<SimulatorObserved, SimulatorConfig> s)
        => !s.Observed.BrokerConnected ? "broker disconnected"
            : s.Observed.PublishErrorsSincePrevious > 0 ? "publish errors"
            : null;

    private sealed class Stopped : IState<SimulatorObserved, SimulatorConfig>
    {
        public static readonly Stopped Instance = new();

        public string Name => PackStates.Stopped;

        public Transition<SimulatorObserved, SimulatorConfig> Next(in Snapshot<SimulatorObserved, SimulatorConfig> snapshot)
        {
            ThrowIfNextFault(in snapshot, Name);

            if (snapshot.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shutdown");
            }

            return snapshot.Desired.State == PackStates.Active
                ? Transition.To<SimulatorObserved, SimulatorConfig>(TryingToStart.Instance, "desired active")
                : Transition.To(this);
        }
    }

    private sealed class TryingToStart : IState<SimulatorObserved, SimulatorConfig>
    {
        public static readonly TryingToStart Instance = new();

        public string Name => "trying_to_start";

        public Transition<SimulatorObserved, SimulatorConfig> Next(in Snapshot<SimulatorObserved, SimulatorConfig> snapshot)
        {
            ThrowIfNextFault(in snapshot, Name);

            if (StopRequested(snapshot))
            {
                return Transition.To<SimulatorObserved, SimulatorConfig>(TryingToStop.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            return snapshot.Observed.Publishing
                ? Transition.To<SimulatorObserved, SimulatorConfig>(Active.Instance, "publishing")
                : Transition.Act(this, StartPublishingAction.Instance, "starting");
        }
    }

    private sealed class Active : IState<SimulatorObserved, SimulatorConfig>
    {
        public static readonly Active Instance = new();

        public string Name => PackStates.Active;

        public Transition<SimulatorObserved, SimulatorConfig> Next(in Snapshot<SimulatorObserved, SimulatorConfig> snapshot)
        {
            ThrowIfNextFault(in snapshot, Name);

            if (StopRequested(snapshot))
            {
                return Transition.To<SimulatorObserved, SimulatorConfig>(TryingToStop.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            if (!snapshot.Observed.Publishing)
            {
                return Transition.To<SimulatorObserved, SimulatorConfig>(TryingToStart.Instance, "not publishing");
            }

            return Unhealthy(snapshot) is { } reason
                ? Transition.To<SimulatorObserved, SimulatorConfig>(Degraded.Instance, reason)
                : Transition.To(this);
        }
    }

    private sealed class Degraded : IState<SimulatorObserved, SimulatorConfig>
    {
        public static readonly Degraded Instance = new();

        public string Name => PackStates.Degraded;

        public Transition<SimulatorObserved, SimulatorConfig> Next(in Snapshot<SimulatorObserved, SimulatorConfig> snapshot)
        {
            ThrowIfNextFault(in snapshot, Name);

            if (StopRequested(snapshot))
            {
                return Transition.To<SimulatorObserved, SimulatorConfig>(TryingToStop.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            if (!snapshot.Observed.Publishing)
            {
                return Transition.To<SimulatorObserved, SimulatorConfig>(TryingToStart.Instance, "not publishing");
            }

            return Unhealthy(snapshot) is { } reason
                ? Transition.To(this, reason)
                : Transition.To<SimulatorObserved, SimulatorConfig>(Active.Instance, "healthy");
        }
    }

    private sealed class TryingToStop : IState<SimulatorObserved, SimulatorConfig>
    {
        public static readonly TryingToStop Instance = new();

        public string Name => "trying_to_stop";

        public Transition<SimulatorObserved, SimulatorConfig> Next(in Snapshot<SimulatorObserved, SimulatorConfig> snapshot)
        {
            ThrowIfNextFault(in snapshot, Name);
            return !snapshot.Observed.Running
                ? Transition.To<SimulatorObserved, SimulatorConfig>(Stopped.Instance, "stopped publishing")
                : Transition.Act(this, StopPublishingAction.Instance, "stopping");
        }
    }

    private sealed class StartPublishingAction : IAction
    {
        public static readonly StartPublishingAction Instance = new();

        public string Kind => "start_publishing";

        public TimeSpan? Timeout => WorkerPack.ActionTimeout;

        public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            var worker = (DeviceSimulatorWorker)context.Dependencies;
            SimulatorConfig config = ((DesiredState<SimulatorConfig>)context.Args!).Config; // the node captures the desired record at enqueue.
            if (config.StartDelay > TimeSpan.Zero)
            {
                await Task.Delay(config.StartDelay, worker._options.Time, cancellationToken).ConfigureAwait(false);
            }

            worker.Engine.Start(config);
        }
    }

    private sealed class StopPublishingAction : IAction
    {
        public static readonly StopPublishingAction Instance = new();

        public string Kind => "stop_publishing";

        public TimeSpan? Timeout => WorkerPack.ActionTimeout;

        public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            var worker = (DeviceSimulatorWorker)context.Dependencies;
            if (worker.Engine.RunningConfig is { StopDelay: { Ticks: > 0 } delay })
            {
                await Task.Delay(delay, worker._options.Time, cancellationToken).ConfigureAwait(false);
            }

            worker.Engine.Stop();
        }
    }
}
