using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.TestSupport;

/// <summary>One received message, payload copied.</summary>
public sealed record Received(string Topic, string Payload, bool Retained, int Index)
{
    /// <summary>The payload as JSON (callers check it is not empty).</summary>
    public JsonElement Json => JsonDocument.Parse(Payload).RootElement.Clone();

    /// <summary>The <c>state</c> field of a runtime state message, or null.</summary>
    public string? State => Payload.Length > 0 && Json.TryGetProperty("state", out JsonElement s) ? s.GetString() : null;
}

/// <summary>The test's MQTT observer (60-scenarios §1.1): an MQTT client owned by the test that records what arrives.</summary>
public sealed class Observer : IEdgeMessageHandler, IAsyncDisposable
{
    private readonly ConcurrentQueue<Received> _messages = new();
    private readonly List<IMqttRoute> _routes = [];
    private int _count;

    private Observer(EdgeMqttClient client) => Client = client;

    /// <summary>The client (to publish from the test).</summary>
    public EdgeMqttClient Client { get; }

    /// <summary>Everything received so far, in arrival order.</summary>
    public IReadOnlyList<Received> Messages => [.. _messages];

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> and subscribes to <paramref name="filters"/> (waits for each SUBACK).</summary>
    public static async Task<Observer> ConnectAsync(int port, params string[] filters)
    {
        var client = new EdgeMqttClient(new EdgeMqttClientOptions
        {
            ClientId = "observer-" + Guid.NewGuid().ToString("N")[..8],
            Name = "observer",
            Connection = MqttConnectionOptions.For(BrokerEndpoint.External("127.0.0.1", port)),
            ReconnectBase = TimeSpan.FromMilliseconds(50),
            ReconnectMax = TimeSpan.FromMilliseconds(400),
        });
        var observer = new Observer(client);
        client.Start();
        await Wait.For(client.WhenConnectedAsync().ContinueWith(_ => true, TaskScheduler.Default), "observer to connect");
        foreach (string filter in filters)
        {
            IMqttRoute route = client.Route(filter, EdgeQos.AtLeastOnce, observer);
            observer._routes.Add(route);
            await Wait.For(route.Subscribed.ContinueWith(_ => true, TaskScheduler.Default), "observer subscription " + filter);
        }

        return observer;
    }

    /// <summary>Messages on exactly <paramref name="topic"/>.</summary>
    public IReadOnlyList<Received> On(string topic) => [.. _messages.Where(m => m.Topic == topic)];

    /// <summary>Waits (bounded) until a message matching <paramref name="match"/> arrived, and returns the first.</summary>
    public Received WaitFor(Func<Received, bool> match, string what, TimeSpan? timeout = null)
    {
        Received? found = null;
        Wait.Until(() => (found = _messages.FirstOrDefault(match)) is not null, what, timeout);
        return found!;
    }

    /// <summary>Publishes a UTF-8 text, QoS 1.</summary>
    public ValueTask PublishAsync(string topic, string payload, bool retain) =>
        Client.PublishAsync(topic, Encoding.UTF8.GetBytes(payload), EdgeQos.AtLeastOnce, retain, CancellationToken.None);

    /// <inheritdoc/>
    public void OnMessage(in EdgeMqttMessage message)
    {
        int index = Interlocked.Increment(ref _count);
        _messages.Enqueue(new Received(message.Topic, Encoding.UTF8.GetString(message.Payload), message.Retained, index));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (IMqttRoute route in _routes)
        {
            route.Dispose();
        }

        await Client.DisposeAsync();
    }
}
