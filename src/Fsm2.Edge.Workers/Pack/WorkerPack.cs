using Fsm2.Edge.Workers.Connection;
using Fsm2.Edge.Workers.DeviceSimulator;
using Fsm2.Edge.Workers.ProtocolConverter;
using Fsm2.Edge.Workers.SourceFlow;

namespace Fsm2.Edge.Workers.Pack;

/// <summary>
/// The built-in worker pack (50-runtime-monitoring §7): <c>protocol-converter</c>, <c>connection</c>,
/// <c>source-flow</c>, <c>sink-flow</c> and <c>device-simulator</c>. The <c>group</c> type lives in the core and is
/// registered by the host with its children table.
/// </summary>
/// <remarks>
/// Common rules: desired states are <c>active</c> and <c>stopped</c>; I/O happens in collectors, actions or the MQTT
/// layer, never on the tick thread; pack actions are idempotent with a 10 s timeout; an unreachable device or a
/// dropping flow is <c>degraded</c>, never an infrastructure failure.
/// </remarks>
public static class WorkerPack
{
    /// <summary>The converter type name.</summary>
    public const string ProtocolConverterType = "protocol-converter";

    /// <summary>The TCP reachability type name.</summary>
    public const string ConnectionType = "connection";

    /// <summary>The device → UNS flow type name.</summary>
    public const string SourceFlowType = "source-flow";

    /// <summary>The UNS → device write-back flow type name.</summary>
    public const string SinkFlowType = "sink-flow";

    /// <summary>The simulated device type name.</summary>
    public const string DeviceSimulatorType = "device-simulator";

    /// <summary>The default <c>uns_topic</c> template of a source flow.</summary>
    public const string DefaultUnsTopicTemplate = "umh/v1/{{ location_path }}/_historian/{{ tag }}";

    /// <summary>The default <c>device_write_topic</c> template of a sink flow.</summary>
    public const string DefaultDeviceWriteTopicTemplate = "{{ device_prefix }}/{{ tag }}/set";

    /// <summary>The timeout of every pack action (50-runtime-monitoring §7.0).</summary>
    public static readonly TimeSpan ActionTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The five type names, in the order of the spec.</summary>
    public static IReadOnlyList<string> TypeNames { get; } =
        [ProtocolConverterType, ConnectionType, SourceFlowType, SinkFlowType, DeviceSimulatorType];

    /// <summary>Registers the five pack types on <paramref name="factory"/>.</summary>
    /// <param name="factory">The runtime's registry.</param>
    /// <param name="options">The pack's dependencies (data MQTT client, clock, templates, renderer, logging, metrics).</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">A pack type is already registered.</exception>
    public static void Register(WorkerFactory factory, WorkerPackOptions options)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(options);
        factory.Register<ConverterObserved, ProtocolConverterConfig>(ProtocolConverterType, id => new ProtocolConverterWorker(id, options));
        factory.Register<ConnectionObserved, ConnectionConfig>(ConnectionType, id => new ConnectionWorker(id, options));
        factory.Register<FlowObserved, FlowConfig>(SourceFlowType, id => new FlowWorker(FlowRole.Source, id, options));
        factory.Register<FlowObserved, FlowConfig>(SinkFlowType, id => new FlowWorker(FlowRole.Sink, id, options));
        factory.Register<SimulatorObserved, SimulatorConfig>(DeviceSimulatorType, id => new DeviceSimulatorWorker(id, options));
    }
}
