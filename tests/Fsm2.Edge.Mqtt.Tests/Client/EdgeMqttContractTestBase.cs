using System.Text;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Mqtt.Tests.Client;

/// <summary>
/// The <see cref="IEdgeMqtt"/> contract (shared/spec/50-runtime-monitoring.md §1, §5.3): one test base run against the
/// in-memory double, mosquitto and the embedded broker (STYLE §1.1), so the double is held to what real brokers do.
/// </summary>
public abstract class EdgeMqttContractTestBase
{
    /// <summary>The test's cancellation token.</summary>
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts this class's broker.</summary>
    protected abstract Task<ITestBroker> StartBrokerAsync();

    /// <summary>Creates a client of <paramref name="broker"/> and returns once it is connected.</summary>
    protected abstract Task<IEdgeMqtt> ConnectAsync(ITestBroker broker, string clientId, EdgeWillMessage? will = null);

    /// <summary>Creates a connected client whose connection the test can cut without a normal disconnect.</summary>
    protected abstract Task<DroppableClient> ConnectDroppableAsync(ITestBroker broker, string clientId, EdgeWillMessage will);

    /// <summary>Releases a client created by this class.</summary>
    protected static ValueTask DisposeClientAsync(IEdgeMqtt client) => ((IAsyncDisposable)client).DisposeAsync();

    [Fact]
    public async Task Route_PlusAndHashFilters_DeliverExactlyTheMatchingTopics()
    {
        // arrange: one client per filter, so overlapping subscriptions on one client play no part.
        await using ITestBroker broker = await StartBrokerAsync();
        string p = NewPrefix();
        IEdgeMqtt plusClient = await ConnectAsync(broker, p + "-plus");
        IEdgeMqtt hashClient = await ConnectAsync(broker, p + "-hash");
        IEdgeMqtt publisher = await ConnectAsync(broker, p + "-pub");
        var plus = new RecordingHandler();
        var hash = new RecordingHandler();
        using IMqttRoute plusRoute = plusClient.Route($"{p}/a/+/c", EdgeQos.AtLeastOnce, plus);
        using IMqttRoute hashRoute = hashClient.Route($"{p}/a/#", EdgeQos.AtLeastOnce, hash);
        await Wait.For(Task.WhenAll(plusRoute.Subscribed, hashRoute.Subscribed).ContinueWith(_ => true, Ct), "both subscriptions");

        // act
        foreach (string topic in new[] { $"{p}/a/b/c", $"{p}/a", $"{p}/a/b/c/d", $"{p}/x/b/c", $"{p}/a/b/x" })
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(topic), EdgeQos.AtLeastOnce, retain: false, Ct);
        }

        await publisher.PublishAsync($"{p}/a/end/c", "end"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);

        // assert: QoS 1 from one publisher arrives in order, so after "end" nothing else is in flight.
        plus.WaitFor($"{p}/a/end/c");
        hash.WaitFor($"{p}/a/end/c");
        Assert.Equal([$"{p}/a/b/c", $"{p}/a/end/c"], plus.Messages.Select(m => m.Topic));
        Assert.Equal([$"{p}/a/b/c", $"{p}/a", $"{p}/a/b/c/d", $"{p}/a/b/x", $"{p}/a/end/c"], hash.Messages.Select(m => m.Topic));
        Assert.All(hash.Messages, m => Assert.Equal(m.Topic, m.Text is "end" ? $"{p}/a/end/c" : m.Text));
        await DisposeClientAsync(plusClient);
        await DisposeClientAsync(hashClient);
        await DisposeClientAsync(publisher);
    }

    [Fact]
    public async Task Route_DeliversAtTheLowerOfPublishAndSubscriptionQos()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        string p = NewPrefix();
        IEdgeMqtt q0Client = await ConnectAsync(broker, p + "-q0");
        IEdgeMqtt q1Client = await ConnectAsync(broker, p + "-q1");
        IEdgeMqtt publisher = await ConnectAsync(broker, p + "-pub");
        var q0 = new RecordingHandler();
        var q1 = new RecordingHandler();
        using IMqttRoute r0 = q0Client.Route($"{p}/#", EdgeQos.AtMostOnce, q0);
        using IMqttRoute r1 = q1Client.Route($"{p}/#", EdgeQos.AtLeastOnce, q1);
        await Wait.For(Task.WhenAll(r0.Subscribed, r1.Subscribed).ContinueWith(_ => true, Ct), "both subscriptions");

        // act
        await publisher.PublishAsync($"{p}/one", "1"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);
        await publisher.PublishAsync($"{p}/zero", "0"u8.ToArray(), EdgeQos.AtMostOnce, retain: false, Ct);

        // assert
        Assert.Equal(EdgeQos.AtMostOnce, q0.WaitFor($"{p}/one").Qos);
        Assert.Equal(EdgeQos.AtMostOnce, q0.WaitFor($"{p}/zero").Qos);
        Assert.Equal(EdgeQos.AtLeastOnce, q1.WaitFor($"{p}/one").Qos);
        Assert.Equal(EdgeQos.AtMostOnce, q1.WaitFor($"{p}/zero").Qos);
        await DisposeClientAsync(q0Client);
        await DisposeClientAsync(q1Client);
        await DisposeClientAsync(publisher);
    }

    [Fact]
    public async Task Retained_LateRouteGetsNewestFlaggedRetained_LiveMessagesUnflagged_ZeroLengthClears()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        string p = NewPrefix();
        IEdgeMqtt publisher = await ConnectAsync(broker, p + "-pub");
        IEdgeMqtt subscriber = await ConnectAsync(broker, p + "-sub");
        await publisher.PublishAsync($"{p}/r", "v1"u8.ToArray(), EdgeQos.AtLeastOnce, retain: true, Ct);
        await publisher.PublishAsync($"{p}/r", "v2"u8.ToArray(), EdgeQos.AtLeastOnce, retain: true, Ct);

        // act 1: a route joins late, then a live retained publish follows.
        var late = new RecordingHandler();
        using IMqttRoute lateRoute = subscriber.Route($"{p}/+", EdgeQos.AtLeastOnce, late);
        await Wait.For(lateRoute.Subscribed.ContinueWith(_ => true, Ct), "the late subscription");
        ReceivedMessage stored = late.WaitFor($"{p}/r", what: "the retained message");
        await publisher.PublishAsync($"{p}/r", "v3"u8.ToArray(), EdgeQos.AtLeastOnce, retain: true, Ct);
        ReceivedMessage live = late.WaitFor($"{p}/r", m => m.Text == "v3");

        // assert 1
        Assert.Equal("v2", stored.Text);
        Assert.True(stored.Retained);
        Assert.False(live.Retained);
        Assert.DoesNotContain(late.Messages, m => m.Text == "v1");

        // act 2: a zero-length retained publish clears the topic; a later route finds nothing stored.
        await publisher.PublishAsync($"{p}/r", ReadOnlyMemory<byte>.Empty, EdgeQos.AtLeastOnce, retain: true, Ct);
        await publisher.PublishAsync($"{p}/keep", "k"u8.ToArray(), EdgeQos.AtLeastOnce, retain: true, Ct);
        var after = new RecordingHandler();
        using IMqttRoute afterRoute = subscriber.Route($"{p}/#", EdgeQos.AtLeastOnce, after);
        after.WaitFor($"{p}/keep", what: "the other retained topic");
        await publisher.PublishAsync($"{p}/marker", "m"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);
        after.WaitFor($"{p}/marker");

        // assert 2: retained copies come before live traffic, so by the marker anything stored on r would have arrived.
        Assert.DoesNotContain(after.On($"{p}/r"), m => m.Retained);
        await DisposeClientAsync(publisher);
        await DisposeClientAsync(subscriber);
    }

    [Fact]
    public async Task Route_SurvivesBrokerRestart_StateChangedReportsDisconnectAndReconnect()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        string p = NewPrefix();
        IEdgeMqtt subscriber = await ConnectAsync(broker, p + "-sub");
        IEdgeMqtt publisher = await ConnectAsync(broker, p + "-pub");
        var changes = new List<MqttLinkState>();
        subscriber.StateChanged += s =>
        {
            lock (changes)
            {
                changes.Add(s);
            }
        };
        var handler = new RecordingHandler();
        using IMqttRoute route = subscriber.Route($"{p}/data/#", EdgeQos.AtLeastOnce, handler);
        await Wait.For(route.Subscribed.ContinueWith(_ => true, Ct), "the subscription");
        long connectsBefore = subscriber.State.Connects;

        // act
        await broker.StopAsync();
        Wait.Until(() => !subscriber.State.IsConnected && !publisher.State.IsConnected, $"both clients to notice {broker.Name} is gone");
        await broker.RestartAsync();
        Wait.Until(() => subscriber.State.IsConnected && publisher.State.IsConnected, "both clients to reconnect");
        await publisher.PublishAsync($"{p}/data/x", "after"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);

        // assert
        Assert.Equal("after", handler.WaitFor($"{p}/data/x", what: "a message after the restart").Text);
        Assert.Equal(connectsBefore + 1, subscriber.State.Connects);
        lock (changes)
        {
            Assert.Contains(changes, s => !s.IsConnected);
            Assert.True(changes[^1].IsConnected);
        }

        await DisposeClientAsync(subscriber);
        await DisposeClientAsync(publisher);
    }

    [Fact]
    public async Task RouteDispose_StopsDeliveryToThatRouteOnly()
    {
        // arrange: two routes of one client share a filter.
        await using ITestBroker broker = await StartBrokerAsync();
        string p = NewPrefix();
        IEdgeMqtt subscriber = await ConnectAsync(broker, p + "-sub");
        IEdgeMqtt publisher = await ConnectAsync(broker, p + "-pub");
        var first = new RecordingHandler();
        var second = new RecordingHandler();
        var other = new RecordingHandler();
        IMqttRoute firstRoute = subscriber.Route($"{p}/t", EdgeQos.AtLeastOnce, first);
        IMqttRoute secondRoute = subscriber.Route($"{p}/t", EdgeQos.AtLeastOnce, second);
        using IMqttRoute otherRoute = subscriber.Route($"{p}/o", EdgeQos.AtLeastOnce, other);
        await Wait.For(Task.WhenAll(firstRoute.Subscribed, secondRoute.Subscribed, otherRoute.Subscribed).ContinueWith(_ => true, Ct), "subscriptions");

        // act 1
        firstRoute.Dispose();
        await publisher.PublishAsync($"{p}/t", "1"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);
        second.WaitFor($"{p}/t");

        // act 2
        secondRoute.Dispose();
        await publisher.PublishAsync($"{p}/t", "2"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);
        await publisher.PublishAsync($"{p}/o", "marker"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);
        other.WaitFor($"{p}/o");

        // assert
        Assert.Empty(first.Messages);
        Assert.Equal(["1"], second.Messages.Select(m => m.Text));
        await DisposeClientAsync(subscriber);
        await DisposeClientAsync(publisher);
    }

    [Fact]
    public async Task Will_ConnectionLost_BrokerPublishesTheRetainedWill()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        string p = NewPrefix();
        var will = new EdgeWillMessage($"{p}/state", "offline"u8.ToArray(), EdgeQos.AtLeastOnce, Retain: true);
        await using DroppableClient lossy = await ConnectDroppableAsync(broker, p + "-lossy", will);
        IEdgeMqtt observer = await ConnectAsync(broker, p + "-obs");
        var seen = new RecordingHandler();
        using IMqttRoute route = observer.Route($"{p}/state", EdgeQos.AtLeastOnce, seen);
        await Wait.For(route.Subscribed.ContinueWith(_ => true, Ct), "the observer's subscription");

        // act
        await lossy.DropAsync();

        // assert: live, then stored for later subscribers.
        Assert.Equal("offline", seen.WaitFor($"{p}/state", what: "the will").Text);
        var late = new RecordingHandler();
        using IMqttRoute lateRoute = observer.Route($"{p}/state", EdgeQos.AtLeastOnce, late);
        ReceivedMessage stored = late.WaitFor($"{p}/state", m => m.Retained, "the retained will");
        Assert.Equal("offline", stored.Text);
        await DisposeClientAsync(observer);
    }

    [Fact]
    public async Task Will_NormalDisconnect_NoWillPublished()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        string p = NewPrefix();
        var will = new EdgeWillMessage($"{p}/state", "offline"u8.ToArray(), EdgeQos.AtLeastOnce, Retain: true);
        IEdgeMqtt leaving = await ConnectAsync(broker, p + "-leaving", will);
        IEdgeMqtt observer = await ConnectAsync(broker, p + "-obs");
        var seen = new RecordingHandler();
        using IMqttRoute route = observer.Route($"{p}/#", EdgeQos.AtLeastOnce, seen);
        await Wait.For(route.Subscribed.ContinueWith(_ => true, Ct), "the observer's subscription");

        // act
        await DisposeClientAsync(leaving);
        await observer.PublishAsync($"{p}/marker", "m"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);

        // assert
        seen.WaitFor($"{p}/marker");
        Assert.Empty(seen.On($"{p}/state"));
        await DisposeClientAsync(observer);
    }

    [Fact]
    public async Task PublishAsync_WhileDisconnected_ThrowsAtOnceAndQueuesNothing()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        string p = NewPrefix();
        IEdgeMqtt client = await ConnectAsync(broker, p + "-c");
        var seen = new RecordingHandler();
        using IMqttRoute route = client.Route($"{p}/#", EdgeQos.AtLeastOnce, seen);
        await broker.StopAsync();
        Wait.Until(() => !client.State.IsConnected, "the client to notice the broker is gone");

        // act
        Exception? thrown = await Record.ExceptionAsync(
            async () => await client.PublishAsync($"{p}/lost", "x"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct));
        await broker.RestartAsync();
        Wait.Until(() => client.State.IsConnected, "the client to reconnect");
        await client.PublishAsync($"{p}/marker", "m"u8.ToArray(), EdgeQos.AtLeastOnce, retain: false, Ct);

        // assert
        Assert.IsType<MqttPublishException>(thrown);
        seen.WaitFor($"{p}/marker");
        Assert.Empty(seen.On($"{p}/lost"));
        await DisposeClientAsync(client);
    }

    /// <summary>A per-test topic prefix, so tests sharing a broker never see each other's messages.</summary>
    protected static string NewPrefix() => $"fsm2/t{Guid.NewGuid():N}"[..17];
}

/// <summary>A connected client plus the means to cut its connection abnormally.</summary>
public sealed class DroppableClient(IEdgeMqtt client, Func<Task> drop, Func<ValueTask> release) : IAsyncDisposable
{
    /// <summary>The client.</summary>
    public IEdgeMqtt Client { get; } = client;

    /// <summary>Cuts the connection without a DISCONNECT packet.</summary>
    public Task DropAsync() => drop();

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => release();
}
