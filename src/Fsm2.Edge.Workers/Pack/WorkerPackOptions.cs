using System.Diagnostics.Metrics;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Templating;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fsm2.Edge.Workers.Pack;

/// <summary>The dependencies of the built-in worker pack (see <see cref="WorkerPack.Register"/>).</summary>
public sealed class WorkerPackOptions
{
    /// <summary>The default of <see cref="FlowBufferCapacity"/>: the profile value <c>flows.buffer_capacity</c> of x64-gateway.</summary>
    public const int DefaultFlowBufferCapacity = 10_000;

    private PackMetrics? _metrics;

    /// <summary>The data MQTT client (<c>data</c> in 50-runtime-monitoring §5.3) the flows and simulators use.</summary>
    public required IEdgeMqtt Mqtt { get; init; }

    /// <summary>The runtime's clock: simulator timers, receive stamps, probe timeouts. <see cref="TimeProvider.System"/> by default.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where the pack logs (categories <c>Fsm2.Edge.Workers.&lt;type&gt;</c>); nothing by default.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// The per-message templates (<c>templates:</c> of a YAML entry) by node path; the host passes the current
    /// declaration's table. <see langword="null"/> or a missing entry means the defaults of 50-runtime-monitoring §7.2.
    /// Called on the tick thread during derive.
    /// </summary>
    public Func<string, IReadOnlyDictionary<string, string>?>? Templates { get; init; }

    /// <summary>Renders the per-message topic templates (the runtime's renderer, to share its parse cache). Shared by default.</summary>
    public LiquidRenderer Renderer { get; init; } = LiquidRenderer.Shared;

    /// <summary>Capacity of each flow's receive buffer (profile <c>flows.buffer_capacity</c>); a full buffer drops the oldest message.</summary>
    public int FlowBufferCapacity { get; init; } = DefaultFlowBufferCapacity;

    /// <summary>Creates the pack's meter (instruments <c>fsm2_flow_*</c>, <c>fsm2_connection_up</c>, <c>fsm2_simulator_messages_total</c>); a private meter when null.</summary>
    public IMeterFactory? MeterFactory { get; init; }

    internal PackMetrics Metrics => LazyInitializer.EnsureInitialized(ref _metrics, () => new PackMetrics(MeterFactory));

    internal ILogger Logger(string workerType) => LoggerFactory.CreateLogger("Fsm2.Edge.Workers." + workerType);
}
