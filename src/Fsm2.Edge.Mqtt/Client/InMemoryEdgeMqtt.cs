using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Client;

/// <summary>A client of an <see cref="InMemoryMqttBroker"/>: the <see cref="IEdgeMqtt"/> test double. Created connected
/// by <see cref="InMemoryMqttBroker.Connect"/>; see the broker for the semantics.</summary>
/// <remarks>Test controls: <see cref="Drop(string)"/> loses the connection abnormally (the will is published) and
/// <see cref="Reconnect"/> brings it back, restoring every route; <see cref="DisposeAsync"/> disconnects normally (no
/// will). <see cref="StateChanged"/> is raised synchronously on the thread that caused the change.</remarks>
[DebuggerDisplay("InMemoryEdgeMqtt {ClientId}, connected = {IsConnected}")]
public sealed class InMemoryEdgeMqtt : IEdgeMqtt, IAsyncDisposable
{
    private readonly InMemoryMqttBroker _broker;
    private readonly EdgeWillMessage? _will;
    private readonly TimeProvider _time;
    private readonly RouteTable _routes;
    private readonly Lock _stateLock = new();

    // Guarded by _stateLock.
    private MqttLinkState _state;
    private bool _disposed;
    private long _publishFailures;

    internal InMemoryEdgeMqtt(InMemoryMqttBroker broker, string clientId, EdgeWillMessage? will, TimeProvider time, ILogger logger)
    {
        _broker = broker;
        _will = will;
        _time = time;
        ClientId = clientId;
        _routes = new RouteTable(logger, clientId);
        _state = MqttLinkState.Initial(time.GetUtcNow());
    }

    /// <inheritdoc/>
    public event Action<MqttLinkState>? StateChanged;

    /// <summary>The client id.</summary>
    public string ClientId { get; }

    /// <summary>Whether the client is connected.</summary>
    public bool IsConnected => State.IsConnected;

    /// <summary>Publishes refused because the client was disconnected.</summary>
    public long PublishFailures => Interlocked.Read(ref _publishFailures);

    /// <summary>The number of live routes.</summary>
    public int RouteCount => _routes.Snapshot.Length;

    /// <inheritdoc/>
    public MqttLinkState State
    {
        get
        {
            lock (_stateLock)
            {
                return _state;
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask PublishAsync(string topic, ReadOnlyMemory<byte> payload, EdgeQos qos, bool retain, CancellationToken ct)
    {
        if (!MqttTopics.IsValidTopic(topic))
        {
            throw new ArgumentException($"'{topic}' is not a valid MQTT topic name", nameof(topic));
        }

        ct.ThrowIfCancellationRequested();
        if (!IsConnected)
        {
            Interlocked.Increment(ref _publishFailures);
            return ValueTask.FromException(new MqttPublishException($"client {ClientId} is not connected; '{topic}' not published"));
        }

        _broker.Publish(topic, payload, qos, retain);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public IMqttRoute Route(string filter, EdgeQos qos, IEdgeMessageHandler handler)
    {
        RouteTable.Route route = _routes.Add(filter, qos, handler, r => _routes.Remove(r, out _));
        if (IsConnected)
        {
            SendRetained(filter);
        }

        return route;
    }

    /// <summary>Loses the connection without a normal disconnect: the will (if any) is published.</summary>
    /// <param name="reason">The disconnect reason reported in <see cref="MqttLinkState.Reason"/>.</param>
    public void Drop(string reason = "connection_lost") => Drop(reason, publishWill: true);

    /// <summary>Connects again (when the broker runs and the client is not disposed), restores every route and raises
    /// <see cref="StateChanged"/>. Does nothing when connected.</summary>
    public void Reconnect()
    {
        lock (_stateLock)
        {
            if (_disposed || _state.IsConnected)
            {
                return;
            }
        }

        if (!_broker.TryAttach(this))
        {
            return;
        }

        MqttLinkState state;
        lock (_stateLock)
        {
            state = new MqttLinkState(true, _time.GetUtcNow(), _state.Connects + 1, null);
            _state = state;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (RouteTable.Route route in _routes.Snapshot)
        {
            if (seen.Add(route.Filter))
            {
                SendRetained(route.Filter);
            }
        }

        StateChanged?.Invoke(state);
    }

    /// <summary>Disconnects normally (no will) and leaves the broker.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        bool wasConnected;
        MqttLinkState state;
        lock (_stateLock)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = true;
            wasConnected = _state.IsConnected;
            state = new MqttLinkState(false, _time.GetUtcNow(), _state.Connects, "NormalDisconnection");
            _state = state;
        }

        _broker.Detach(this);
        if (wasConnected)
        {
            StateChanged?.Invoke(state);
        }

        return ValueTask.CompletedTask;
    }

    internal void Drop(string reason, bool publishWill)
    {
        MqttLinkState state;
        lock (_stateLock)
        {
            if (!_state.IsConnected)
            {
                return;
            }

            state = new MqttLinkState(false, _time.GetUtcNow(), _state.Connects, reason);
            _state = state;
        }

        if (publishWill && _will is EdgeWillMessage will && _broker.IsRunning)
        {
            _broker.Publish(will.Topic, will.Payload, will.Qos, will.Retain);
        }

        StateChanged?.Invoke(state);
    }

    internal void Deliver(string topic, ReadOnlySequence<byte> payload, EdgeQos qos, bool retained)
    {
        if (IsConnected)
        {
            _routes.Dispatch(topic, payload, qos, retained);
        }
    }

    // A (re)subscription: the broker sends the retained messages matching the filter, flagged retained, to the client,
    // which hands each to every matching route (as a real client does with the copies a SUBSCRIBE brings).
    private void SendRetained(string filter)
    {
        _routes.MarkSubscribed(filter);
        foreach (KeyValuePair<string, byte[]> entry in _broker.RetainedFor(filter))
        {
            Deliver(entry.Key, new ReadOnlySequence<byte>(entry.Value), EdgeQos.AtLeastOnce, retained: true);
        }
    }
}
