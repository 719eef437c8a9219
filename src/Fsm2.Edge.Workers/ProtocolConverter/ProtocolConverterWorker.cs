using System.Text.Json;
using Fsm2.Edge.Config;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.ProtocolConverter;

/// <summary>
/// The <c>protocol-converter</c> (50-runtime-monitoring §7.2): orchestrates one device through the children
/// <c>connection</c>, <c>source</c> (source-flow) and, when <c>sink.enabled</c>, <c>sink</c> (sink-flow), each with the
/// state mapping <c>{active: active, stopped: stopped}</c>. It has no actions and does no I/O itself.
/// </summary>
/// <remarks>
/// <para>The children receive the converter's rendered fields as User variables (<c>host</c>, <c>port</c>,
/// <c>connect_timeout</c>, <c>device_topic</c>, <c>qos</c>, <c>payload_format</c>, <c>input_timeout</c>,
/// <c>write_topic</c>, <c>device_prefix</c>) and built-in config templates that reference them, so every rendered child
/// config shows what it inherited. The per-message templates <c>uns_topic</c> and <c>device_write_topic</c> travel as
/// the User variables <c>uns_topic_template</c> and <c>device_write_topic_template</c> (their text, unrendered).</para>
/// <para>Time in <c>starting</c> is measured from the collector's stamp of the moment the converter was first observed
/// with desired <c>active</c> (<see cref="ConverterObserved.ActiveSince"/>): states stay pure and read no clock.</para>
/// </remarks>
internal sealed class ProtocolConverterWorker : IWorker<ConverterObserved, ProtocolConverterConfig>, IWorkerStatusWriter<ConverterObserved>
{
    internal const string ConnectionChild = "connection";
    internal const string SourceChild = "source";
    internal const string SinkChild = "sink";

    internal const string ConnectionTemplate = "host: \"{{ host }}\"\nport: {{ port }}\ntimeout: {{ connect_timeout }}\n";

    internal const string SourceTemplate =
        "device_topic: \"{{ device_topic }}\"\nqos: {{ qos }}\npayload_format: {{ payload_format }}\ninput_timeout: {{ input_timeout }}\n";

    internal const string SinkTemplate = "write_topic: \"{{ write_topic }}\"\nqos: {{ qos }}\n";

    private static readonly IReadOnlyDictionary<string, string> s_mapping =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["active"] = "active", ["stopped"] = "stopped" };

    private readonly Identity _identity;
    private readonly WorkerPackOptions _options;

    // Owner: the collector (one collection at a time per worker).
    private DateTimeOffset? _activeSince;

    public ProtocolConverterWorker(Identity identity, WorkerPackOptions options)
    {
        _identity = identity;
        _options = options;
    }

    public ValueTask<ConverterObserved> CollectObservedStateAsync(DesiredState<ProtocolConverterConfig> desired, CancellationToken cancellationToken)
    {
        if (desired.State == PackStates.Active && !desired.ShutdownRequested)
        {
            _activeSince ??= _options.Time.GetUtcNow();
        }
        else
        {
            _activeSince = null;
        }

        return ValueTask.FromResult(new ConverterObserved(_activeSince));
    }

    public DerivedState<ProtocolConverterConfig> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ProtocolConverterConfig config = ProtocolConverterConfig.Parse(spec.Config, spec.Render);
        IReadOnlyDictionary<string, string>? templates = _options.Templates?.Invoke(_identity.Id);
        string unsTemplate = templates?.GetValueOrDefault("uns_topic") ?? WorkerPack.DefaultUnsTopicTemplate;
        string writeTemplate = templates?.GetValueOrDefault("device_write_topic") ?? WorkerPack.DefaultDeviceWriteTopicTemplate;

        var user = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["host"] = config.Host,
            ["port"] = (long)config.Port,
            ["connect_timeout"] = DurationParser.Format(config.ConnectTimeout),
            ["device_topic"] = config.DeviceTopic,
            ["qos"] = (long)config.Qos,
            ["payload_format"] = config.PayloadFormat,
            ["input_timeout"] = DurationParser.Format(config.InputTimeout),
            ["device_prefix"] = TopicLevels.FixedPrefix(config.DeviceTopic),
            ["uns_topic_template"] = unsTemplate,
        };
        if (config.SinkEnabled)
        {
            user["write_topic"] = config.WriteTopic;
            user["device_write_topic_template"] = writeTemplate;
        }

        var variables = new VariableBundle(user);
        var children = new List<ChildSpec>(3)
        {
            new(ConnectionChild, WorkerPack.ConnectionType, new UserSpec(ConnectionTemplate, variables), s_mapping),
            new(SourceChild, WorkerPack.SourceFlowType, new UserSpec(SourceTemplate, variables), s_mapping),
        };
        if (config.SinkEnabled)
        {
            children.Add(new ChildSpec(SinkChild, WorkerPack.SinkFlowType, new UserSpec(SinkTemplate, variables), s_mapping));
        }

        return new DerivedState<ProtocolConverterConfig>(PackStates.Active, config, children);
    }

    public IState<ConverterObserved, ProtocolConverterConfig> GetInitialState() => Stopped.Instance;

    /// <summary>The <c>observed</c> status object (50-runtime-monitoring §7.2): <c>childrenActive</c> (children in state
    /// <c>active</c>) and <c>childrenTotal</c> (children the converter has, declared and created), from its children view.</summary>
    public void WriteStatus(Utf8JsonWriter writer, ConverterObserved observed, ChildrenView children)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(children);
        int active = 0;
        foreach (ChildInfo child in children)
        {
            if (child.State == PackStates.Active)
            {
                active++;
            }
        }

        writer.WriteNumber("childrenActive", active);
        writer.WriteNumber("childrenTotal", children.Count);
    }

    private static bool StopRequested(in Snapshot<ConverterObserved, ProtocolConverterConfig> s)
        => s.ShutdownRequested || s.Desired.State != PackStates.Active;

    // The first declared child that is not active, or null when all are. A child not created yet counts as not active.
    private static string? FirstNotActive(in Snapshot<ConverterObserved, ProtocolConverterConfig> s, out ChildInfo info)
    {
        info = default;
        if (!IsActive(s.Children, ConnectionChild, ref info))
        {
            return ConnectionChild;
        }

        if (!IsActive(s.Children, SourceChild, ref info))
        {
            return SourceChild;
        }

        if (s.Desired.Config.SinkEnabled && !IsActive(s.Children, SinkChild, ref info))
        {
            return SinkChild;
        }

        return null;

        static bool IsActive(ChildrenView children, string name, ref ChildInfo info)
            => children.TryGet(name, out info) && info.State == PackStates.Active;
    }

    private static string Describe(string name, in ChildInfo info)
        => info.Name is null ? $"child {name} not created yet" : $"child {name} is {info.State}: {info.Reason}";

    private sealed class Stopped : IState<ConverterObserved, ProtocolConverterConfig>
    {
        public static readonly Stopped Instance = new();

        public string Name => PackStates.Stopped;

        public Transition<ConverterObserved, ProtocolConverterConfig> Next(in Snapshot<ConverterObserved, ProtocolConverterConfig> snapshot)
        {
            if (snapshot.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shutdown");
            }

            return snapshot.Desired.State == PackStates.Active
                ? Transition.To<ConverterObserved, ProtocolConverterConfig>(Starting.Instance, "desired active")
                : Transition.To(this);
        }
    }

    private sealed class Starting : IState<ConverterObserved, ProtocolConverterConfig>
    {
        public static readonly Starting Instance = new();

        public string Name => "starting";

        public Transition<ConverterObserved, ProtocolConverterConfig> Next(in Snapshot<ConverterObserved, ProtocolConverterConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<ConverterObserved, ProtocolConverterConfig>(Stopping.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            if (FirstNotActive(snapshot, out _) is null)
            {
                return Transition.To<ConverterObserved, ProtocolConverterConfig>(Active.Instance, "all children active");
            }

            if (snapshot.Children.GetState(ConnectionChild) == PackStates.Degraded)
            {
                return Transition.To<ConverterObserved, ProtocolConverterConfig>(Degraded.Instance, "connection degraded");
            }

            if (snapshot.Observed.ActiveSince is { } since && snapshot.Now - since > snapshot.Desired.Config.StartTimeout)
            {
                return Transition.To<ConverterObserved, ProtocolConverterConfig>(Degraded.Instance, "start_timeout exceeded");
            }

            return Transition.To(this, "waiting for children");
        }
    }

    private sealed class Active : IState<ConverterObserved, ProtocolConverterConfig>
    {
        public static readonly Active Instance = new();

        public string Name => PackStates.Active;

        public Transition<ConverterObserved, ProtocolConverterConfig> Next(in Snapshot<ConverterObserved, ProtocolConverterConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<ConverterObserved, ProtocolConverterConfig>(Stopping.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            // The reason is formatted only on the transition, never on a steady tick.
            return FirstNotActive(snapshot, out ChildInfo info) is { } child
                ? Transition.To<ConverterObserved, ProtocolConverterConfig>(Degraded.Instance, Describe(child, info))
                : Transition.To(this);
        }
    }

    private sealed class Degraded : IState<ConverterObserved, ProtocolConverterConfig>
    {
        public static readonly Degraded Instance = new();

        public string Name => PackStates.Degraded;

        public Transition<ConverterObserved, ProtocolConverterConfig> Next(in Snapshot<ConverterObserved, ProtocolConverterConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<ConverterObserved, ProtocolConverterConfig>(Stopping.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            // Staying degraded reuses the child's own reason string, so a steady degraded tick allocates nothing.
            return FirstNotActive(snapshot, out ChildInfo info) is null
                ? Transition.To<ConverterObserved, ProtocolConverterConfig>(Active.Instance, "all children active")
                : Transition.To(this, info.Reason);
        }
    }

    private sealed class Stopping : IState<ConverterObserved, ProtocolConverterConfig>
    {
        public static readonly Stopping Instance = new();

        public string Name => "stopping";

        public Transition<ConverterObserved, ProtocolConverterConfig> Next(in Snapshot<ConverterObserved, ProtocolConverterConfig> snapshot)
        {
            if (!snapshot.ShutdownRequested && snapshot.Desired.State == PackStates.Active)
            {
                return Transition.To<ConverterObserved, ProtocolConverterConfig>(Stopped.Instance, "desired active again");
            }

            foreach (ChildInfo child in snapshot.Children)
            {
                if (child.State != PackStates.Stopped)
                {
                    return Transition.To(this, "waiting for children to stop");
                }
            }

            return Transition.To<ConverterObserved, ProtocolConverterConfig>(Stopped.Instance, "every child stopped");
        }
    }
}

/// <summary>What a converter observes: when it was first seen with desired <c>active</c> (collector-stamped).</summary>
/// <param name="ActiveSince">Null while desired is not <c>active</c> or shutdown is requested.</param>
internal sealed record ConverterObserved(DateTimeOffset? ActiveSince);
