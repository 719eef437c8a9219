using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers.Pack;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Workers.SourceFlow;

/// <summary>
/// The data path of one flow (50-runtime-monitoring §7.4): the MQTT route's handler copies each message into a bounded
/// buffer; one forwarder task per flow drains it in order, resolves the output topic through the per-tag cache and
/// publishes. None of this runs on the tick thread; the worker's collector reads the counters, its actions call
/// <see cref="Subscribe"/> and <see cref="UnsubscribeAsync"/>.
/// </summary>
[DebuggerDisplay("FlowPump {_node}, subscribed = {_route is not null}, in = {_messagesIn}, out = {_messagesOut}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The token source lives only between the start and stop actions, which dispose it; the runtime has no dispose hook for workers.")]
internal sealed class FlowPump : IEdgeMessageHandler
{
    /// <summary>Bound of the per-tag topic cache; beyond it topics render per message (§7.4).</summary>
    public const int TopicCacheCapacity = 10_000;

    private static readonly TimeSpan s_drainBudget = TimeSpan.FromSeconds(1); // §7.4: unsubscribe drains for at most 1 s.

    private readonly string _node;
    private readonly WorkerPackOptions _options;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _nodeTag;
    private readonly Lock _lifecycle = new();

    // Guarded by _lifecycle; read without it (volatile) by the receive path and the collector.
    private volatile IMqttRoute? _route;
    private volatile Channel<Inbound>? _buffer;
    private Task? _forwarder;
    private CancellationTokenSource? _forwarderStop;
    private DateTimeOffset? _subscribedAt;

    // Shared: the latest derived config, written by the collector and the subscribe action, read by the forwarder.
    private volatile FlowConfig? _config;

    // Owner: the forwarder task. Cleared when the config's scope changes (the node's derive inputs changed).
    private readonly Dictionary<string, string> _topicCache = new(StringComparer.Ordinal);
    private RenderScope? _cacheScope;
    private ParsedTemplate? _cacheTemplate;

    // Counters: Interlocked, written by the receive path and the forwarder, read by the collector.
    private long _messagesIn;
    private long _messagesOut;
    private long _dropped;
    private long _renderErrors;
    private long _lastMessageTicks;
    private volatile string? _lastError;

    public FlowPump(string node, WorkerPackOptions options, ILogger logger)
    {
        _node = node;
        _options = options;
        _logger = logger;
        _nodeTag = new KeyValuePair<string, object?>("node", node);
    }

    public long MessagesIn => Interlocked.Read(ref _messagesIn);

    public long MessagesOut => Interlocked.Read(ref _messagesOut);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long RenderErrors => Interlocked.Read(ref _renderErrors);

    public string? LastError => _lastError;

    public int BufferDepth => _buffer?.Reader.Count ?? 0;

    public DateTimeOffset? LastMessageAt
        => Interlocked.Read(ref _lastMessageTicks) is long ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>When the current route was registered; null while unsubscribed.</summary>
    public DateTimeOffset? SubscribedAt
    {
        get
        {
            lock (_lifecycle)
            {
                return _subscribedAt;
            }
        }
    }

    /// <summary>Whether a route for <paramref name="config"/>'s input exists and the broker acknowledged it.</summary>
    public bool IsSubscribed(FlowConfig config)
    {
        IMqttRoute? route = _route;
        return route is not null && route.Subscribed.IsCompletedSuccessfully
            && string.Equals(route.Filter, config.InputTopic, StringComparison.Ordinal) && route.Qos == config.Qos;
    }

    /// <summary>Whether any route is registered (what the stopping path waits for).</summary>
    public bool HasRoute => _route is not null;

    /// <summary>Hands the latest derived config to the forwarder (topic template, scope, payload format).</summary>
    public void Update(FlowConfig config) => _config = config;

    /// <summary>
    /// The <c>subscribe</c> action: registers the route (the MQTT layer restores it after reconnects) and starts the
    /// forwarder. Idempotent: a route for the same filter and QoS is kept; a different one is replaced.
    /// </summary>
    public void Subscribe(FlowConfig config)
    {
        lock (_lifecycle)
        {
            _config = config;
            if (_route is { } existing)
            {
                if (string.Equals(existing.Filter, config.InputTopic, StringComparison.Ordinal) && existing.Qos == config.Qos)
                {
                    return;
                }

                existing.Dispose();
                _route = null;
            }

            if (_buffer is null)
            {
                var buffer = Channel.CreateBounded<Inbound>(
                    new BoundedChannelOptions(_options.FlowBufferCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                    OnBufferOverflow);
                _forwarderStop = new CancellationTokenSource();
                _buffer = buffer;
                CancellationToken stop = _forwarderStop.Token;
                _forwarder = Task.Run(() => ForwardAsync(buffer.Reader, stop), CancellationToken.None);
            }

            _route = _options.Mqtt.Route(config.InputTopic, config.Qos, this);
            _subscribedAt = _options.Time.GetUtcNow();
        }

        Log.FlowSubscribed(_logger, _node, config.InputTopic, (int)config.Qos);
    }

    /// <summary>
    /// The <c>unsubscribe</c> action: disposes the route (works while the broker is unreachable), drains the buffer
    /// for at most 1 s and stops the forwarder. Idempotent.
    /// </summary>
    public async ValueTask UnsubscribeAsync(CancellationToken cancellationToken)
    {
        Task? forwarder;
        CancellationTokenSource? stop;
        string filter;
        lock (_lifecycle)
        {
            IMqttRoute? route = _route;
            filter = route?.Filter ?? "";
            route?.Dispose();
            _route = null;
            _subscribedAt = null;
            _buffer?.Writer.TryComplete();
            _buffer = null;
            forwarder = _forwarder;
            stop = _forwarderStop;
            _forwarder = null;
            _forwarderStop = null;
        }

        bool drained = true;
        if (forwarder is not null)
        {
            try
            {
                await forwarder.WaitAsync(s_drainBudget, _options.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                drained = false;
                await stop!.CancelAsync().ConfigureAwait(false); // set together with the forwarder.
            }
            finally
            {
                if (drained)
                {
                    stop?.Dispose();
                }
            }
        }

        if (filter.Length > 0)
        {
            Log.FlowUnsubscribed(_logger, _node, filter, drained);
        }
    }

    /// <inheritdoc/>
    public void OnMessage(in EdgeMqttMessage message)
    {
        Channel<Inbound>? buffer = _buffer;
        if (buffer is null)
        {
            return;
        }

        // The payload buffer is reused after this returns, so it is copied once here.
        DateTimeOffset now = _options.Time.GetUtcNow();
        var inbound = new Inbound(message.Topic, message.Payload.ToArray(), now);
        Interlocked.Increment(ref _messagesIn);
        Interlocked.Exchange(ref _lastMessageTicks, now.UtcTicks);
        _options.Metrics.FlowIn.Add(1, _nodeTag);
        buffer.Writer.TryWrite(inbound);
    }

    private void OnBufferOverflow(Inbound dropped)
    {
        Interlocked.Increment(ref _dropped);
        _options.Metrics.Dropped(_node, "buffer_full");
    }

    private async Task ForwardAsync(ChannelReader<Inbound> reader, CancellationToken stop)
    {
        var writer = new ArrayBufferWriter<byte>(256);
        try
        {
            while (await reader.WaitToReadAsync(stop).ConfigureAwait(false))
            {
                while (reader.TryRead(out Inbound message))
                {
                    await ForwardOneAsync(message, writer, stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Unsubscribe gave up draining: the rest of the buffer is discarded.
        }
    }

    private async ValueTask ForwardOneAsync(Inbound message, ArrayBufferWriter<byte> writer, CancellationToken stop)
    {
        FlowConfig config = _config!; // Subscribe sets the config before the forwarder starts.
        string topic;
        try
        {
            topic = ResolveTopic(config, message.Topic);
        }
        catch (Exception ex) when (ex is TemplateException or VariableValueException)
        {
            Interlocked.Increment(ref _renderErrors);
            Drop("render_error", message.Topic, ex.Message);
            return;
        }

        ReadOnlyMemory<byte> payload = message.Payload;
        if (config.PayloadFormat == PayloadFormats.Raw)
        {
            writer.ResetWrittenCount();
            PayloadJson.WriteRaw(writer, message.Payload, message.ReceivedAt);
            payload = writer.WrittenMemory;
        }

        try
        {
            await _options.Mqtt.PublishAsync(topic, payload, config.Qos, retain: false, stop).ConfigureAwait(false);
            Interlocked.Increment(ref _messagesOut);
            _options.Metrics.FlowOut.Add(1, _nodeTag);
        }
        catch (Exception ex) when (ex is MqttPublishException or ArgumentException)
        {
            Drop("publish_error", topic, ex.Message);
        }
    }

    private void Drop(string reason, string topic, string error)
    {
        Interlocked.Increment(ref _dropped);
        _lastError = $"{reason}: {error}";
        _options.Metrics.Dropped(_node, reason);
        Log.FlowMessageDropped(_logger, _node, reason, topic, error);
    }

    // PERF: steady-state forwarding is a dictionary hit per message; the template renders once per tag until the
    // node's derive inputs change (a new scope or template) or the cache is full (then it renders per message).
    private string ResolveTopic(FlowConfig config, string sourceTopic)
    {
        if (!ReferenceEquals(config.Scope, _cacheScope) || !ReferenceEquals(config.OutputTemplate, _cacheTemplate))
        {
            _topicCache.Clear();
            _cacheScope = config.Scope;
            _cacheTemplate = config.OutputTemplate;
        }

        string tag = TopicLevels.Tag(sourceTopic, config.InputPrefix);
        if (_topicCache.TryGetValue(tag, out string? cached))
        {
            return cached;
        }

        var extra = new Dictionary<string, object?>(2, StringComparer.Ordinal) { ["tag"] = tag, ["topic"] = sourceTopic };
        string topic = _options.Renderer.Render(config.OutputTemplate, config.Scope.With(extra));
        if (_topicCache.Count < TopicCacheCapacity)
        {
            _topicCache[tag] = topic;
        }
        else
        {
            _options.Metrics.TopicCacheMisses.Add(1, _nodeTag);
        }

        return topic;
    }

    private readonly record struct Inbound(string Topic, byte[] Payload, DateTimeOffset ReceivedAt);
}
