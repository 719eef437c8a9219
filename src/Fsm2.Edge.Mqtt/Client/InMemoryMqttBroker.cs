using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fsm2.Edge.Mqtt.Client;

/// <summary>
/// The in-memory MQTT broker behind the <see cref="IEdgeMqtt"/> test double (shared/spec/50-runtime-monitoring.md §1):
/// the same topic matching (<c>+</c>, <c>#</c>), QoS 0/1 and retained semantics as a real broker, with no sockets, so
/// tests of the worker pack and the monitoring publisher run deterministically on a fake clock.
/// </summary>
/// <remarks>
/// <para><b>Delivery</b> is synchronous: <see cref="IEdgeMqtt.PublishAsync"/> hands the message to every matching route of
/// every connected client before it returns, on the publisher's thread, outside the broker's lock (so a handler may
/// publish). The returned task is already complete.</para>
/// <para><b>Semantics mirrored from MQTT 5 with clean sessions:</b> a client receives a message once, handed to each of
/// its matching routes, at the lower of the publish and the subscription QoS; a disconnected client receives nothing
/// (nothing is queued for it); a retained publish replaces the topic's retained message, a zero-length one deletes it;
/// retained messages are sent with the retained flag on every subscribe and re-subscribe, live messages without it; a
/// client that loses its connection without a normal disconnect has its will published; a second connect with the same
/// client id takes the session over and disconnects the first with reason <c>SessionTakenOver</c>.</para>
/// <para><b>Outages.</b> <see cref="Stop"/> drops every connection (no wills: the broker itself is gone) and, like
/// mosquitto with <c>persistence false</c> and the embedded broker, forgets the retained store; <see cref="Start"/>
/// reconnects every client that has not been disposed, restoring its routes.</para>
/// </remarks>
[DebuggerDisplay("InMemoryMqttBroker running = {IsRunning}, clients = {_clients.Count}, retained = {_retained.Count}")]
public sealed class InMemoryMqttBroker
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;

    // Guarded by _lock.
    private readonly Dictionary<string, byte[]> _retained = new(StringComparer.Ordinal);
    private readonly List<InMemoryEdgeMqtt> _clients = [];
    private bool _running = true;
    private long _published;

    /// <summary>Creates a running broker.</summary>
    /// <param name="timeProvider">The clock of the clients' state stamps; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">The log sink of handler failures; none when null.</param>
    public InMemoryMqttBroker(TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    /// <summary>Whether the broker accepts connections.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>Messages accepted from publishers so far (wills included).</summary>
    public long PublishedCount => Interlocked.Read(ref _published);

    /// <summary>Creates a client and connects it (when the broker runs).</summary>
    /// <param name="clientId">The client id; connecting an id that is connected takes its session over.</param>
    /// <param name="will">The last will, or <see langword="null"/>.</param>
    /// <returns>The client.</returns>
    public InMemoryEdgeMqtt Connect(string clientId, EdgeWillMessage? will = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        var client = new InMemoryEdgeMqtt(this, clientId, will, _time, _loggerFactory.CreateLogger("Fsm2.Edge.Mqtt"));
        lock (_lock)
        {
            _clients.Add(client);
        }

        client.Reconnect();
        return client;
    }

    /// <summary>The retained message of <paramref name="topic"/>, or <see langword="null"/>.</summary>
    /// <param name="topic">The topic.</param>
    /// <returns>A copy of the payload.</returns>
    public byte[]? Retained(string topic)
    {
        lock (_lock)
        {
            return _retained.TryGetValue(topic, out byte[]? payload) ? payload.ToArray() : null;
        }
    }

    /// <summary>Every retained topic matching <paramref name="filter"/>, sorted.</summary>
    /// <param name="filter">A topic filter.</param>
    /// <returns>The topics.</returns>
    public IReadOnlyList<string> RetainedTopics(string filter = "#")
    {
        lock (_lock)
        {
            var topics = new List<string>();
            foreach (string topic in _retained.Keys)
            {
                if (MqttTopics.Matches(filter, topic))
                {
                    topics.Add(topic);
                }
            }

            topics.Sort(StringComparer.Ordinal);
            return topics;
        }
    }

    /// <summary>Takes the broker away: every connection drops (no wills) and the retained store is lost.</summary>
    public void Stop()
    {
        InMemoryEdgeMqtt[] clients;
        lock (_lock)
        {
            _running = false;
            _retained.Clear();
            clients = [.. _clients];
        }

        foreach (InMemoryEdgeMqtt client in clients)
        {
            client.Drop("ServerShuttingDown", publishWill: false);
        }
    }

    /// <summary>Brings the broker back; every client that is not disposed reconnects and restores its routes.</summary>
    public void Start()
    {
        InMemoryEdgeMqtt[] clients;
        lock (_lock)
        {
            _running = true;
            clients = [.. _clients];
        }

        foreach (InMemoryEdgeMqtt client in clients)
        {
            client.Reconnect();
        }
    }

    // Called by a client to come online. False while the broker is stopped. Takes over a session with the same id.
    internal bool TryAttach(InMemoryEdgeMqtt client)
    {
        InMemoryEdgeMqtt? previous = null;
        lock (_lock)
        {
            if (!_running)
            {
                return false;
            }

            foreach (InMemoryEdgeMqtt other in _clients)
            {
                if (!ReferenceEquals(other, client) && other.IsConnected
                    && string.Equals(other.ClientId, client.ClientId, StringComparison.Ordinal))
                {
                    previous = other;
                }
            }
        }

        previous?.Drop("SessionTakenOver", publishWill: true);
        return true;
    }

    internal void Detach(InMemoryEdgeMqtt client)
    {
        lock (_lock)
        {
            _clients.Remove(client);
        }
    }

    internal void Publish(string topic, ReadOnlyMemory<byte> payload, EdgeQos qos, bool retain)
    {
        InMemoryEdgeMqtt[] targets;
        lock (_lock)
        {
            Interlocked.Increment(ref _published);
            if (retain)
            {
                if (payload.IsEmpty)
                {
                    _retained.Remove(topic);
                }
                else
                {
                    _retained[topic] = payload.ToArray();
                }
            }

            targets = [.. _clients];
        }

        var body = new ReadOnlySequence<byte>(payload);
        foreach (InMemoryEdgeMqtt client in targets)
        {
            // MQTT 5 (retain-as-published off): live messages arrive without the retained flag.
            client.Deliver(topic, body, qos, retained: false);
        }
    }

    // The retained messages a new subscription to filter receives, copied under the lock.
    internal List<KeyValuePair<string, byte[]>> RetainedFor(string filter)
    {
        var matches = new List<KeyValuePair<string, byte[]>>();
        lock (_lock)
        {
            foreach (KeyValuePair<string, byte[]> entry in _retained)
            {
                if (MqttTopics.Matches(filter, entry.Key))
                {
                    matches.Add(entry);
                }
            }
        }

        matches.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return matches;
    }
}
