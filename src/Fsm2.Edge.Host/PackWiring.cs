using System.Runtime.CompilerServices;
using Fsm2.Edge.Config;
using Fsm2.Edge.Mqtt.Client;

namespace Fsm2.Edge.Host;

/// <summary>
/// What the worker pack needs from the host, available before the broker is known: the registry is built before the
/// config is loaded (validation needs the type names), the <c>data</c> client only after. <see cref="Mqtt"/> forwards to
/// the client attached by <see cref="Attach"/>, which the host does before the runtime creates any worker; the
/// per-message templates come from the config the watcher currently runs.
/// </summary>
internal sealed class PackWiring
{
    private readonly ConditionalWeakTable<EdgeConfig, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> _templates = new();
    private Func<EdgeConfig>? _current;

    /// <summary>The <c>data</c> client as the pack sees it.</summary>
    public DeferredMqtt Mqtt { get; } = new();

    /// <summary>The host's log sink as the pack sees it (the host creates its logger factory after the registry).</summary>
    public DeferredLoggers Loggers { get; } = new();

    /// <summary>Attaches the <c>data</c> client, the log sink and the source of the running config.</summary>
    public void Attach(IEdgeMqtt data, Microsoft.Extensions.Logging.ILoggerFactory loggers, Func<EdgeConfig> current)
    {
        Mqtt.Attach(data);
        Loggers.Attach(loggers);
        Volatile.Write(ref _current, current);
    }

    /// <summary>The <c>templates:</c> of the node at <paramref name="path"/> in the running config, or null.</summary>
    public IReadOnlyDictionary<string, string>? Templates(string path)
    {
        if (Volatile.Read(ref _current) is not { } current)
        {
            return null;
        }

        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> table = _templates.GetValue(current(), Build);
        return table.TryGetValue(path, out IReadOnlyDictionary<string, string>? templates) ? templates : null;
    }

    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Build(EdgeConfig config)
    {
        var table = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var pending = new Stack<WorkerEntry>(config.Workers);
        while (pending.TryPop(out WorkerEntry? entry))
        {
            if (entry.Templates.Count > 0)
            {
                table[entry.Path] = entry.Templates;
            }

            foreach (WorkerEntry child in entry.Children)
            {
                pending.Push(child);
            }
        }

        return table;
    }

    /// <summary>A logger factory that forwards to one attached later (none until then).</summary>
    internal sealed class DeferredLoggers : Microsoft.Extensions.Logging.ILoggerFactory
    {
        private Microsoft.Extensions.Logging.ILoggerFactory? _target;

        /// <summary>Sets the factory (once).</summary>
        public void Attach(Microsoft.Extensions.Logging.ILoggerFactory target) => Interlocked.CompareExchange(ref _target, target, null);

        /// <inheritdoc/>
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) =>
            (Volatile.Read(ref _target) ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger(categoryName);

        /// <inheritdoc/>
        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider) =>
            throw new NotSupportedException("the host's logger factory is configured where it is created");

        /// <inheritdoc/>
        public void Dispose()
        {
            // The attached factory belongs to the host.
        }
    }

    /// <summary>An <see cref="IEdgeMqtt"/> that forwards to a client attached later.</summary>
    internal sealed class DeferredMqtt : IEdgeMqtt
    {
        private IEdgeMqtt? _target;

        /// <inheritdoc/>
        public MqttLinkState State => Target.State;

        /// <inheritdoc/>
        public event Action<MqttLinkState>? StateChanged
        {
            add => Target.StateChanged += value;
            remove => Target.StateChanged -= value;
        }

        private IEdgeMqtt Target => Volatile.Read(ref _target)
            ?? throw new InvalidOperationException("the data MQTT client is attached before the runtime starts any worker");

        /// <summary>Sets the client (once).</summary>
        public void Attach(IEdgeMqtt target) => Interlocked.CompareExchange(ref _target, target, null);

        /// <inheritdoc/>
        public ValueTask PublishAsync(string topic, ReadOnlyMemory<byte> payload, EdgeQos qos, bool retain, CancellationToken ct)
            => Target.PublishAsync(topic, payload, qos, retain, ct);

        /// <inheritdoc/>
        public IMqttRoute Route(string filter, EdgeQos qos, IEdgeMessageHandler handler) => Target.Route(filter, qos, handler);
    }
}
