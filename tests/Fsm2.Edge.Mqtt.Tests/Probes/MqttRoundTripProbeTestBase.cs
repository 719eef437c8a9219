using System.Buffers;
using System.Buffers.Binary;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Probes;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Tests.TestSupport;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Protocol;

namespace Fsm2.Edge.Mqtt.Tests.Probes;

/// <summary>
/// The MQTT round-trip probe against a real broker (shared/spec/30-supervision.md §10.2, S-37..S-39). Every test runs
/// twice: <see cref="MqttRoundTripProbeMosquittoTests"/> and <see cref="MqttRoundTripProbeEmbeddedTests"/>.
/// </summary>
/// <remarks>
/// Misses are made deterministic by a <see cref="PausableTcpProxy"/> between probe and broker that holds one direction
/// back: with the broker-to-client direction held, no echo can arrive in time, and the probe's timeout is then expired
/// on a <see cref="FakeTimeProvider"/> instead of waited for. Real time is used only where the RTT itself is checked.
/// </remarks>
public abstract class MqttRoundTripProbeTestBase
{
    private static readonly Guid s_instance = Guid.Parse("6f0c2b9e-4d7a-4e1f-9a0b-3c5d7e9f1a2b");

    /// <summary>Starts this class's broker.</summary>
    protected abstract Task<ITestBroker> StartBrokerAsync(BrokerPolicy policy = BrokerPolicy.Open);

    /// <summary>The test's cancellation token.</summary>
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("spec", "S-37")]
    public async Task S37_ReachableBroker_PublishesSeqTopicWithInstanceAndSeq_EchoReturns_SuccessWithRtt()
    {
        // arrange: an observer sees what the probe puts on the wire.
        await using ITestBroker broker = await StartBrokerAsync();
        string prefix = NewPrefix();
        await using MqttRoundTripProbe probe = NewProbe(broker.Endpoint, prefix, TimeProvider.System);
        using var rtt = new MetricCollector<double>(probe.Metrics.ProbeRtt);
        using var results = new MetricCollector<long>(probe.Metrics.ProbeResults);
        using IMqttClient observer = await ConnectClientAsync(broker.Endpoint, "observer");
        var seen = new TaskCompletionSource<MqttApplicationMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        observer.ApplicationMessageReceivedAsync += e =>
        {
            seen.TrySetResult(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        await observer.SubscribeAsync($"{prefix}/_health/#", MqttQualityOfServiceLevel.AtLeastOnce, Ct);

        // act
        ProbeOutcome outcome = await probe.RunAsync(Ct);

        // assert
        Assert.Equal(ProbeOutcome.Success, outcome);
        Assert.Equal($"{prefix}/_health/broker-test/+", probe.SubscriptionFilter);
        Assert.Equal("gw-test-probe-broker-test", probe.ClientId);
        TimeSpan measured = Assert.NotNull(probe.LastRoundTrip);
        Assert.InRange(measured, TimeSpan.FromTicks(1), probe.Timeout);
        Assert.Equal(measured.TotalSeconds, Assert.Single(rtt.GetMeasurementSnapshot()).Value, 9);
        Assert.Equal("success", Assert.Single(results.GetMeasurementSnapshot()).Tags["outcome"]);
        MqttApplicationMessage wire = await Wait.For(seen.Task, "the observer to see the probe message");
        Assert.Equal($"{prefix}/_health/broker-test/1", wire.Topic);
        Assert.Equal(ExpectedPayload(s_instance, 1), wire.Payload.ToArray());
        Assert.False(wire.Retain);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, wire.QualityOfServiceLevel);
    }

    [Fact]
    [Trait("spec", "S-37")]
    public async Task S37_EchoesHeldBack_TwoMissesStillHealthy_ThirdMissUnhealthy_OneSuccessHealthyAgain()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        await using var proxy = PausableTcpProxy.Start(broker.Port);
        var time = new FakeTimeProvider();
        await using MqttRoundTripProbe probe = NewProbe(BrokerEndpoint.External("127.0.0.1", proxy.Port), NewPrefix(), time);
        var verdict = new ProbeVerdictFold(probe.MissThreshold);
        Assert.Equal(ProbeOutcome.Success, await probe.RunAsync(Ct));
        Assert.True(verdict.Apply(ProbeOutcome.Success));

        // act 1: two runs whose echoes cannot arrive.
        proxy.Downstream.Pause();
        ProbeOutcome first = await RunExpiringAsync(probe, time, proxy);
        bool afterFirst = verdict.Apply(first);
        ProbeOutcome second = await RunExpiringAsync(probe, time, proxy);
        bool afterSecond = verdict.Apply(second);

        // assert 1
        Assert.Equal(ProbeOutcome.Miss, first);
        Assert.Equal(ProbeOutcome.Miss, second);
        Assert.True(afterFirst);
        Assert.True(afterSecond);

        // act 2: the third miss.
        ProbeOutcome third = await RunExpiringAsync(probe, time, proxy);

        // assert 2
        Assert.Equal(ProbeOutcome.Miss, third);
        Assert.False(verdict.Apply(third));
        Assert.True(probe.IsConnected);

        // act 3: the held echoes arrive late; then one run with the path open.
        proxy.Downstream.Resume();
        try
        {
            Wait.Until(() => probe.LateEchoes == 3, "the three held echoes to arrive late");
        }
        catch (TimeoutException ex)
        {
            // Seen once in CI under full load and not reproduced since: say what the probe saw when it happens again.
            throw new TimeoutException(
                $"{ex.Message} (late={probe.LateEchoes}, connected={probe.IsConnected}, seq={probe.Sequence}, last={probe.LastOutcome}, proxy down bytes={proxy.Downstream.BytesRead})",
                ex);
        }
        ProbeOutcome recovered = await probe.RunAsync(Ct);

        // assert 3
        Assert.Equal(ProbeOutcome.Success, recovered);
        Assert.True(verdict.Apply(recovered));
        Assert.Equal(5, probe.Sequence);
        Assert.Equal(3, probe.LateEchoes);
    }

    [Fact]
    [Trait("spec", "S-38")]
    public async Task S38_BrokerKilled_NextRunDisconnected_OneConnectAttemptPerRun_RestartedOnSamePort_SuccessAgain()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync();
        int port = broker.Port;
        await using MqttRoundTripProbe probe = NewProbe(broker.Endpoint, NewPrefix(), TimeProvider.System);
        var verdict = new ProbeVerdictFold(probe.MissThreshold);
        Assert.Equal(ProbeOutcome.Success, await probe.RunAsync(Ct));
        Assert.Equal(1, probe.ConnectAttempts);

        // act 1: the broker goes away.
        await broker.StopAsync();
        Wait.Until(() => !probe.IsConnected, $"the probe to notice that {broker.Name} is gone");
        ProbeOutcome whileDown1 = await probe.RunAsync(Ct);
        long attemptsAfterOne = probe.ConnectAttempts;
        ProbeOutcome whileDown2 = await probe.RunAsync(Ct);

        // assert 1: unhealthy at once, without waiting for misses; one connect attempt per run.
        Assert.Equal(ProbeOutcome.Disconnected, whileDown1);
        Assert.False(verdict.Apply(whileDown1));
        Assert.Equal(ProbeOutcome.Disconnected, whileDown2);
        Assert.Equal(2, attemptsAfterOne);
        Assert.Equal(3, probe.ConnectAttempts);

        // act 2: the broker returns on the same port.
        await broker.RestartAsync();
        ProbeOutcome afterRestart = await probe.RunAsync(Ct);

        // assert 2: one run reconnects, re-subscribes and gets its echo.
        Assert.Equal(port, broker.Port);
        Assert.Equal(ProbeOutcome.Success, afterRestart);
        Assert.True(verdict.Apply(afterRestart));
        Assert.Equal(4, probe.ConnectAttempts);
        Assert.True(probe.IsConnected);
    }

    [Fact]
    [Trait("spec", "S-39")]
    public async Task S39_CraftedEchoesWithOlderSeqOrOtherInstance_AreNotSuccess_AndCountAsLate()
    {
        // arrange: the probe's own publishes are held in the proxy, so only crafted echoes can reach it.
        await using ITestBroker broker = await StartBrokerAsync();
        await using var proxy = PausableTcpProxy.Start(broker.Port);
        var time = new FakeTimeProvider();
        string prefix = NewPrefix();
        await using MqttRoundTripProbe probe = NewProbe(BrokerEndpoint.External("127.0.0.1", proxy.Port), prefix, time);
        Assert.Equal(ProbeOutcome.Success, await probe.RunAsync(Ct));
        TimeSpan? firstRtt = probe.LastRoundTrip;
        using IMqttClient forger = await ConnectClientAsync(broker.Endpoint, "forger");
        proxy.Upstream.Pause();
        long before = proxy.Upstream.BytesRead;

        // act: run 2 publishes (held); forged echoes for it arrive meanwhile.
        ValueTask<ProbeOutcome> run = probe.RunAsync(Ct);
        Wait.Until(() => proxy.Upstream.BytesRead > before, "the probe's publish to reach the proxy");
        Guid other = Guid.Parse("00000000-0000-4000-8000-000000000001");
        await PublishAsync(forger, $"{prefix}/_health/broker-test/2", ExpectedPayload(other, 2));      // another instance
        await PublishAsync(forger, $"{prefix}/_health/broker-test/1", ExpectedPayload(s_instance, 1)); // older seq
        await PublishAsync(forger, $"{prefix}/_health/broker-test/2", ExpectedPayload(s_instance, 1)); // older seq, current topic
        Wait.Until(() => probe.LateEchoes == 3, "the probe to receive the three forged echoes");
        time.Advance(probe.Timeout);
        ProbeOutcome outcome = await Wait.For(run.AsTask(), "the run to time out");

        // assert
        Assert.Equal(ProbeOutcome.Miss, outcome);
        Assert.Equal(2, probe.Sequence);
        Assert.Equal(firstRtt, probe.LastRoundTrip);

        // act 2: the held publish goes out; its echo is now late too, and the next run succeeds.
        proxy.Upstream.Resume();
        Wait.Until(() => probe.LateEchoes == 4, "the real echo of run 2 to arrive late");
        ProbeOutcome next = await probe.RunAsync(Ct);

        // assert 2
        Assert.Equal(ProbeOutcome.Success, next);
        Assert.Equal(4, probe.LateEchoes);
    }

    [Fact]
    public async Task RunAsync_PublishRefusedByBroker_Refused_AndStaysConnected()
    {
        // arrange
        await using ITestBroker broker = await StartBrokerAsync(BrokerPolicy.DenyPublish);
        await using MqttRoundTripProbe probe = NewProbe(broker.Endpoint, NewPrefix(), TimeProvider.System);

        // act
        ProbeOutcome first = await probe.RunAsync(Ct);
        ProbeOutcome second = await probe.RunAsync(Ct);

        // assert: refused at once (no timeout waited), every run, on one connection.
        Assert.Equal(ProbeOutcome.Refused, first);
        Assert.Equal(ProbeOutcome.Refused, second);
        Assert.Equal(1, probe.ConnectAttempts);
        Assert.Equal(2, probe.Sequence);
        Assert.True(probe.IsConnected);
    }

    [Fact]
    public async Task RunAsync_NoBrokerEverListening_DisconnectedAfterOneAttempt()
    {
        // arrange: a broker started and stopped leaves a port nobody listens on.
        await using ITestBroker broker = await StartBrokerAsync();
        await broker.StopAsync();
        await using MqttRoundTripProbe probe = NewProbe(broker.Endpoint, NewPrefix(), TimeProvider.System);

        // act
        ProbeOutcome outcome = await probe.RunAsync(Ct);

        // assert
        Assert.Equal(ProbeOutcome.Disconnected, outcome);
        Assert.Equal(1, probe.ConnectAttempts);
        Assert.Equal(ProbeOutcome.Disconnected, probe.LastOutcome);
    }

    // Starts a run, waits until its publish left the probe, then expires the run's timeout on the fake clock.
    private static async Task<ProbeOutcome> RunExpiringAsync(MqttRoundTripProbe probe, FakeTimeProvider time, PausableTcpProxy proxy)
    {
        long before = proxy.Upstream.BytesRead;
        ValueTask<ProbeOutcome> run = probe.RunAsync(Ct);
        Wait.Until(() => proxy.Upstream.BytesRead > before, "the probe's publish to reach the proxy");
        time.Advance(probe.Timeout);
        return await Wait.For(run.AsTask(), "the run to time out");
    }

    /// <summary>A probe with id <c>broker-test</c> of runtime <c>gw-test</c> on the given clock.</summary>
    protected static MqttRoundTripProbe NewProbe(BrokerEndpoint endpoint, string prefix, TimeProvider time) =>
        new(
            new MqttRoundTripProbeOptions { Id = "broker-test", RuntimeId = "gw-test", InstanceId = s_instance, TopicPrefix = prefix },
            MqttConnectionOptions.For(endpoint),
            time);

    /// <summary>A topic prefix no other test uses.</summary>
    protected static string NewPrefix() => $"fsm2/t{Guid.NewGuid():N}"[..17];

    private static byte[] ExpectedPayload(Guid instance, long seq)
    {
        byte[] payload = new byte[24];
        _ = instance.TryWriteBytes(payload, bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(16), seq);
        return payload;
    }

    private static async Task<IMqttClient> ConnectClientAsync(BrokerEndpoint endpoint, string name)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        MqttClientOptions options = new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithClientId($"test-{name}-{Guid.NewGuid():N}")
            .WithCleanStart(true)
            .Build();
        await client.ConnectAsync(options, Ct);
        return client;
    }

    private static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string topic, byte[] payload) =>
        client.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            Ct);
}
