using Fsm2.Edge.Mqtt.Broker;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>The embedded MQTTnet broker behind <see cref="ITestBroker"/>, on a free loopback port.</summary>
public sealed class EmbeddedTestBroker : ITestBroker
{
    private readonly BrokerPolicy _policy;

    private EmbeddedTestBroker(EmbeddedBroker broker, BrokerPolicy policy)
    {
        Broker = broker;
        _policy = policy;
    }

    /// <summary>The broker under test.</summary>
    public EmbeddedBroker Broker { get; }

    /// <inheritdoc/>
    public string Name => "embedded";

    /// <inheritdoc/>
    public int Port => Broker.Port;

    /// <summary>Starts an embedded broker on a free loopback port.</summary>
    public static async Task<EmbeddedTestBroker> StartAsync(BrokerPolicy policy = BrokerPolicy.Open)
    {
        var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        var fixture = new EmbeddedTestBroker(broker, policy);
        await fixture.RestartAsync();
        return fixture;
    }

    /// <inheritdoc/>
    public Task StopAsync() => Broker.StopAsync();

    /// <inheritdoc/>
    public async Task RestartAsync()
    {
        await Broker.StopAsync();
        await Broker.StartAsync();
        // The embedded broker has no ACLs (shared/spec/50-runtime-monitoring.md §5.1); the server's interceptors play
        // the part of mosquitto's acl_file.
        MqttServer server = Broker.Server ?? throw new InvalidOperationException("a started broker has a server");
        if (_policy == BrokerPolicy.DenySubscriptions)
        {
            server.InterceptingSubscriptionAsync += DenySubscriptionAsync;
        }
        else if (_policy == BrokerPolicy.DenyPublish)
        {
            server.InterceptingPublishAsync += DenyPublishAsync;
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => Broker.DisposeAsync();

    private static Task DenyPublishAsync(InterceptingPublishEventArgs e)
    {
        e.ProcessPublish = false;
        e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
        return Task.CompletedTask;
    }

    private static Task DenySubscriptionAsync(InterceptingSubscriptionEventArgs e)
    {
        e.ProcessSubscription = false;
        e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
        return Task.CompletedTask;
    }
}
