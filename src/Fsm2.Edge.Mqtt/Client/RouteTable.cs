using System.Buffers;
using Fsm2.Edge.Mqtt.Observability;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Client;

/// <summary>
/// The routes of one client, shared by <see cref="EdgeMqttClient"/> and the in-memory double so both dispatch the same
/// way: every message goes to every route whose filter matches its topic.
/// </summary>
/// <remarks>
/// Copy-on-write: <see cref="Add"/> and <see cref="Remove"/> replace the array under a lock; the receive path reads the
/// current array with one volatile read and never locks. Dispatch is a linear scan over the routes: a client has few
/// routes (the monitoring client two or three, the data client one per flow), so a topic trie would not pay for itself
/// at this size; the scan allocates nothing.
/// </remarks>
internal sealed class RouteTable
{
    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly string _clientName;
    private Route[] _routes = [];

    public RouteTable(ILogger logger, string clientName)
    {
        _logger = logger;
        _clientName = clientName;
    }

    /// <summary>The current routes; read without a lock.</summary>
    public Route[] Snapshot => Volatile.Read(ref _routes);

    public Route Add(string filter, EdgeQos qos, IEdgeMessageHandler handler, Action<Route> onDispose)
    {
        if (!MqttTopics.IsValidFilter(filter))
        {
            throw new ArgumentException($"'{filter}' is not a valid MQTT topic filter", nameof(filter));
        }

        ArgumentNullException.ThrowIfNull(handler);
        var route = new Route(filter, qos, handler, onDispose);
        lock (_lock)
        {
            _routes = [.. _routes, route];
        }

        return route;
    }

    /// <summary>Removes the route; returns whether another route still uses its filter.</summary>
    public bool Remove(Route route, out EdgeQos remainingQos)
    {
        remainingQos = EdgeQos.AtMostOnce;
        bool filterStillUsed = false;
        lock (_lock)
        {
            int index = Array.IndexOf(_routes, route);
            if (index >= 0)
            {
                Route[] next = new Route[_routes.Length - 1];
                Array.Copy(_routes, 0, next, 0, index);
                Array.Copy(_routes, index + 1, next, index, _routes.Length - index - 1);
                _routes = next;
            }

            foreach (Route other in _routes)
            {
                if (string.Equals(other.Filter, route.Filter, StringComparison.Ordinal))
                {
                    filterStillUsed = true;
                    remainingQos = (EdgeQos)Math.Max((byte)remainingQos, (byte)other.Qos);
                }
            }
        }

        return filterStillUsed;
    }

    /// <summary>Completes <see cref="Route.Subscribed"/> of every route on <paramref name="filter"/>.</summary>
    public void MarkSubscribed(string filter)
    {
        foreach (Route route in Snapshot)
        {
            if (string.Equals(route.Filter, filter, StringComparison.Ordinal))
            {
                route.MarkSubscribed();
            }
        }
    }

    /// <summary>The highest QoS any route asks for on <paramref name="filter"/>.</summary>
    public EdgeQos QosOf(string filter)
    {
        EdgeQos qos = EdgeQos.AtMostOnce;
        foreach (Route route in Snapshot)
        {
            if (string.Equals(route.Filter, filter, StringComparison.Ordinal) && route.Qos > qos)
            {
                qos = route.Qos;
            }
        }

        return qos;
    }

    /// <summary>Hands the message to every matching route; a handler that throws is logged and skipped.</summary>
    /// <returns>The number of routes that received it.</returns>
    public int Dispatch(string topic, ReadOnlySequence<byte> payload, EdgeQos qos, bool retained)
    {
        int delivered = 0;
        foreach (Route route in Snapshot)
        {
            if (route.IsDisposed || !MqttTopics.Matches(route.Filter, topic))
            {
                continue;
            }

            EdgeQos effective = qos < route.Qos ? qos : route.Qos;
            var message = new EdgeMqttMessage(topic, payload, effective, retained);
            try
            {
                route.Handler.OnMessage(in message);
                delivered++;
            }
            catch (Exception ex)
            {
                // A faulty handler must not break the receive path of every other route.
                Log.MqttHandlerFailed(_logger, _clientName, route.Filter, topic, ex);
            }
        }

        return delivered;
    }

    /// <summary>A registered route.</summary>
    internal sealed class Route : IMqttRoute
    {
        private readonly Action<Route> _onDispose;
        private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _disposed;

        public Route(string filter, EdgeQos qos, IEdgeMessageHandler handler, Action<Route> onDispose)
        {
            Filter = filter;
            Qos = qos;
            Handler = handler;
            _onDispose = onDispose;
        }

        public string Filter { get; }

        public EdgeQos Qos { get; }

        public IEdgeMessageHandler Handler { get; }

        public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

        public Task Subscribed => _subscribed.Task;

        public void MarkSubscribed() => _subscribed.TrySetResult();

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _onDispose(this);
            }
        }
    }
}
