using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>Creates started <see cref="EdgeMqttClient"/>s for wire tests.</summary>
public static class EdgeMqttClients
{
    /// <summary>Arbitrary: short reconnect delays so outage tests on the real clock finish quickly.</summary>
    public static readonly TimeSpan TestReconnectBase = TimeSpan.FromMilliseconds(50);

    /// <summary>Creates, starts and waits (bounded) for the connection.</summary>
    public static async Task<EdgeMqttClient> ConnectAsync(BrokerEndpoint endpoint, string clientId, EdgeWillMessage? will = null,
        TimeProvider? time = null, string name = "test")
    {
        var client = Create(endpoint, clientId, will, time, name);
        client.Start();
        await Wait.For(client.WhenConnectedAsync().ContinueWith(_ => true, TaskScheduler.Default), $"{clientId} to connect");
        return client;
    }

    /// <summary>Creates a client without starting it.</summary>
    public static EdgeMqttClient Create(BrokerEndpoint endpoint, string clientId, EdgeWillMessage? will = null,
        TimeProvider? time = null, string name = "test") =>
        new(
            new EdgeMqttClientOptions
            {
                ClientId = clientId,
                Name = name,
                Connection = MqttConnectionOptions.For(endpoint),
                Will = will,
                ReconnectBase = TestReconnectBase,
                ReconnectMax = TimeSpan.FromMilliseconds(400),
                ReconnectJitter = 0,
            },
            time);
}
