using System.Text.Json;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.SourceFlow;

/// <summary>
/// The <c>source-flow</c> and <c>sink-flow</c> workers (50-runtime-monitoring §7.4, §7.5): one implementation with two
/// roles, since the spec gives both the same states, actions and observed fields. A source subscribes to
/// <c>device_topic</c> and republishes to the rendered <c>uns_topic</c>; a sink subscribes to <c>write_topic</c> and
/// republishes to the rendered <c>device_write_topic</c>.
/// </summary>
/// <remarks>
/// States: <c>stopped</c> → <c>trying_to_subscribe</c> (action <c>subscribe</c>) → <c>active</c> ⇄ <c>degraded</c>;
/// shutdown or desired stopped → <c>trying_to_unsubscribe</c> (action <c>unsubscribe</c>) → <c>stopped</c>. The stopping
/// path always progresses: <c>unsubscribe</c> succeeds while the broker is unreachable.
/// </remarks>
internal sealed class FlowWorker : IWorker<FlowObserved, FlowConfig>, IWorkerStatusWriter<FlowObserved>
{
    private readonly FlowRole _role;
    private readonly Identity _identity;
    private readonly WorkerPackOptions _options;

    // Owner: the collector; the counters of the previous observation, for the "grew since" rule.
    private long _previousDropped;
    private long _previousRenderErrors;

    public FlowWorker(FlowRole role, Identity identity, WorkerPackOptions options)
    {
        _role = role;
        _identity = identity;
        _options = options;
        Pump = new FlowPump(identity.Id, options, options.Logger(role == FlowRole.Source ? WorkerPack.SourceFlowType : WorkerPack.SinkFlowType));
    }

    /// <summary>The data path this worker's actions drive.</summary>
    internal FlowPump Pump { get; }

    public ValueTask<FlowObserved> CollectObservedStateAsync(DesiredState<FlowConfig> desired, CancellationToken cancellationToken)
    {
        FlowConfig config = desired.Config;
        Pump.Update(config);
        long dropped = Pump.Dropped;
        long renderErrors = Pump.RenderErrors;
        var observed = new FlowObserved(
            Pump.IsSubscribed(config),
            _options.Mqtt.State.IsConnected,
            Pump.MessagesIn,
            Pump.MessagesOut,
            dropped,
            renderErrors,
            dropped - _previousDropped,
            renderErrors - _previousRenderErrors,
            Pump.LastMessageAt,
            Pump.SubscribedAt,
            Pump.BufferDepth,
            Pump.LastError);
        _previousDropped = dropped;
        _previousRenderErrors = renderErrors;
        return ValueTask.FromResult(observed);
    }

    public DerivedState<FlowConfig> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new DerivedState<FlowConfig>(PackStates.Active, FlowConfig.Parse(_role, spec, _identity.Id, _options));
    }

    public IState<FlowObserved, FlowConfig> GetInitialState() => Stopped.Instance;

    /// <summary>The <c>observed</c> status object of both flow roles (50-runtime-monitoring §7.4, §7.5): <c>subscribed</c>,
    /// <c>brokerConnected</c>, <c>messagesIn</c>, <c>messagesOut</c>, <c>dropped</c>, <c>renderErrors</c>,
    /// <c>lastMessageAt</c>, <c>bufferDepth</c>, <c>lastError</c>.</summary>
    public void WriteStatus(Utf8JsonWriter writer, FlowObserved observed, ChildrenView children)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(observed);
        writer.WriteBoolean("subscribed", observed.Subscribed);
        writer.WriteBoolean("brokerConnected", observed.BrokerConnected);
        writer.WriteNumber("messagesIn", observed.MessagesIn);
        writer.WriteNumber("messagesOut", observed.MessagesOut);
        writer.WriteNumber("dropped", observed.Dropped);
        writer.WriteNumber("renderErrors", observed.RenderErrors);
        StatusJson.WriteTime(writer, "lastMessageAt", observed.LastMessageAt);
        writer.WriteNumber("bufferDepth", observed.BufferDepth);
        StatusJson.WriteString(writer, "lastError", observed.LastError);
    }

    private static bool StopRequested(in Snapshot<FlowObserved, FlowConfig> s)
        => s.ShutdownRequested || s.Desired.State != PackStates.Active;

    // Null when healthy; otherwise a constant reason (no formatting on the tick thread).
    private static string? Unhealthy(in Snapshot<FlowObserved, FlowConfig> s)
    {
        FlowObserved o = s.Observed;
        if (!o.BrokerConnected)
        {
            return "broker disconnected";
        }

        if (o.DroppedSincePrevious > 0)
        {
            return "messages dropped";
        }

        if (o.RenderErrorsSincePrevious > 0)
        {
            return "topic render errors";
        }

        TimeSpan timeout = s.Desired.Config.InputTimeout;
        if (timeout > TimeSpan.Zero && (o.LastMessageAt ?? o.SubscribedAt) is { } since && s.Now - since > timeout)
        {
            return "no input within input_timeout";
        }

        return null;
    }

    private sealed class Stopped : IState<FlowObserved, FlowConfig>
    {
        public static readonly Stopped Instance = new();

        public string Name => PackStates.Stopped;

        public Transition<FlowObserved, FlowConfig> Next(in Snapshot<FlowObserved, FlowConfig> snapshot)
        {
            if (snapshot.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shutdown");
            }

            return snapshot.Desired.State == PackStates.Active
                ? Transition.To<FlowObserved, FlowConfig>(TryingToSubscribe.Instance, "desired active")
                : Transition.To(this);
        }
    }

    private sealed class TryingToSubscribe : IState<FlowObserved, FlowConfig>
    {
        public static readonly TryingToSubscribe Instance = new();

        public string Name => "trying_to_subscribe";

        public Transition<FlowObserved, FlowConfig> Next(in Snapshot<FlowObserved, FlowConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<FlowObserved, FlowConfig>(TryingToUnsubscribe.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            return snapshot.Observed.Subscribed
                ? Transition.To<FlowObserved, FlowConfig>(Active.Instance, "subscribed")
                : Transition.Act(this, SubscribeAction.Instance, "subscribing");
        }
    }

    private sealed class Active : IState<FlowObserved, FlowConfig>
    {
        public static readonly Active Instance = new();

        public string Name => PackStates.Active;

        public Transition<FlowObserved, FlowConfig> Next(in Snapshot<FlowObserved, FlowConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<FlowObserved, FlowConfig>(TryingToUnsubscribe.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            if (!snapshot.Observed.Subscribed)
            {
                return Transition.To<FlowObserved, FlowConfig>(TryingToSubscribe.Instance, "not subscribed");
            }

            return Unhealthy(snapshot) is { } reason
                ? Transition.To<FlowObserved, FlowConfig>(Degraded.Instance, reason)
                : Transition.To(this);
        }
    }

    private sealed class Degraded : IState<FlowObserved, FlowConfig>
    {
        public static readonly Degraded Instance = new();

        public string Name => PackStates.Degraded;

        public Transition<FlowObserved, FlowConfig> Next(in Snapshot<FlowObserved, FlowConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<FlowObserved, FlowConfig>(TryingToUnsubscribe.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            if (!snapshot.Observed.Subscribed)
            {
                return Transition.To<FlowObserved, FlowConfig>(TryingToSubscribe.Instance, "not subscribed");
            }

            return Unhealthy(snapshot) is { } reason
                ? Transition.To(this, reason)
                : Transition.To<FlowObserved, FlowConfig>(Active.Instance, "healthy");
        }
    }

    private sealed class TryingToUnsubscribe : IState<FlowObserved, FlowConfig>
    {
        public static readonly TryingToUnsubscribe Instance = new();

        public string Name => "trying_to_unsubscribe";

        // Observed.Subscribed means "an acknowledged route for the current config"; stopping waits for no route at all,
        // which SubscribedAt carries (set exactly while a route is registered).
        public Transition<FlowObserved, FlowConfig> Next(in Snapshot<FlowObserved, FlowConfig> snapshot)
            => snapshot.Observed.SubscribedAt is null
                ? Transition.To<FlowObserved, FlowConfig>(Stopped.Instance, "unsubscribed")
                : Transition.Act(this, UnsubscribeAction.Instance, "unsubscribing");
    }

    /// <summary>Registers the route and starts the forwarder (idempotent).</summary>
    private sealed class SubscribeAction : IAction
    {
        public static readonly SubscribeAction Instance = new();

        public string Kind => "subscribe";

        public TimeSpan? Timeout => WorkerPack.ActionTimeout;

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            var worker = (FlowWorker)context.Dependencies;
            var desired = (DesiredState<FlowConfig>)context.Args!; // the node captures the desired record at enqueue.
            worker.Pump.Subscribe(desired.Config);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Disposes the route, drains the buffer for at most 1 s, stops the forwarder (idempotent).</summary>
    private sealed class UnsubscribeAction : IAction
    {
        public static readonly UnsubscribeAction Instance = new();

        public string Kind => "unsubscribe";

        public TimeSpan? Timeout => WorkerPack.ActionTimeout;

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
            => ((FlowWorker)context.Dependencies).Pump.UnsubscribeAsync(cancellationToken);
    }
}
