using System.Diagnostics.Metrics;
using System.Text.Json;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>The monitoring publisher against the in-memory double on a fake clock (shared/spec/50-runtime-monitoring.md
/// §6, §8; M-12..M-17, the MQTT part of M-27).</summary>
public sealed class MonitoringPublisherTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("spec", "M-14")]
    public async Task M14_MonClientWill_IsRetainedOfflineConnectionLostOnRuntimeState_AndFiresOnLoss()
    {
        // arrange
        await using var f = new MonitoringFixture();
        EdgeWillMessage will = MonitoringPublisher.CreateWill(f.Options);

        // act: the mon connection is lost without a normal disconnect.
        f.Mon.Drop();

        // assert: the will's shape, then the broker's publication of it, retained.
        Assert.Equal($"{f.Prefix}/runtime/state", will.Topic);
        Assert.True(will.Retain);
        Assert.Equal(EdgeQos.AtLeastOnce, will.Qos);
        ReceivedMessage fired = f.Seen.WaitFor($"{f.Prefix}/runtime/state");
        JsonElement json = MonitoringFixture.Json(fired);
        Assert.Equal("offline", json.GetProperty("state").GetString());
        Assert.Equal("connection_lost", json.GetProperty("reason").GetString());
        Assert.Equal("gw-test", json.GetProperty("runtime").GetString());
        Assert.Equal("6f0c2b9e4d7a4e1f9a0b3c5d7e9f1a2b", json.GetProperty("instance").GetString());
        Assert.Equal(will.Payload.ToArray(), f.Broker.Retained($"{f.Prefix}/runtime/state"));
    }

    [Fact]
    [Trait("spec", "M-12")]
    public async Task M12_LateSubscriber_GetsOneRetainedStatusPerLiveNode()
    {
        // arrange: p0, p0/w0, p0/w1 and a top-level leaf b, all running.
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration([.. f.Top, MonitoringFixture.Leaf("b")]);
        f.Publisher.Start();
        f.TickUntilAllRunning(4);
        f.Advance(TimeSpan.FromSeconds(2));

        // act: a subscriber joins late.
        await using InMemoryEdgeMqtt late = f.Broker.Connect("late");
        var statuses = new RecordingHandler();
        using IMqttRoute route = late.Route($"{f.Prefix}/status/#", EdgeQos.AtLeastOnce, statuses);

        // assert
        Assert.All(statuses.Messages, m => Assert.True(m.Retained));
        Assert.Equal(
            ["b", "p0", "p0/w0", "p0/w1"],
            statuses.Messages.Select(m => m.Topic[($"{f.Prefix}/status/".Length)..]).Order(StringComparer.Ordinal));
        JsonElement leaf = MonitoringFixture.Json(statuses.On($"{f.Prefix}/status/p0/w1").Single());
        Assert.Equal("p0/w1", leaf.GetProperty("node").GetString());
        Assert.Equal("w1", leaf.GetProperty("name").GetString());
        Assert.Equal("synthetic", leaf.GetProperty("type").GetString());
        Assert.Equal("running", leaf.GetProperty("state").GetString());
        Assert.Equal("active", leaf.GetProperty("lifecycle").GetString());
        Assert.Equal(JsonValueKind.Null, leaf.GetProperty("lastError").ValueKind);
        Assert.Equal("gw-test", leaf.GetProperty("runtime").GetString());
        Assert.Equal(2, MonitoringFixture.Json(statuses.On($"{f.Prefix}/status/p0").Single()).GetProperty("children").GetInt32());
    }

    [Fact]
    public async Task Status_PublishedOnChangeOnly_AtMostOncePerMinInterval_RefreshedOnSchedule()
    {
        // arrange
        await using var f = new MonitoringFixture(o => new MonitoringOptions
        {
            RuntimeId = o.RuntimeId,
            TopicPrefix = o.TopicPrefix,
            StatusMinInterval = TimeSpan.FromSeconds(1),
            StatusRefreshInterval = TimeSpan.FromSeconds(30),
        });
        f.Runtime.SetConfiguration([MonitoringFixture.Leaf("b")]);
        f.Publisher.Start();
        f.TickUntilAllRunning(1);
        f.Advance(TimeSpan.FromSeconds(2));
        string topic = $"{f.Prefix}/status/b";
        int settled = f.Seen.On(topic).Count;

        // act 1: time passes, nothing changes.
        f.Advance(TimeSpan.FromSeconds(10));
        int quiet = f.Seen.On(topic).Count;

        // act 2: the desired state changes (an override), so state and desired change.
        f.Runtime.SetDesiredStateOverride("b", "stopped");
        f.TickUntil(s => s.Find("b")?.State == "stopped", "b to stop");
        f.Advance(TimeSpan.FromSeconds(2));
        ReceivedMessage last = f.Seen.On(topic)[^1];
        int afterChange = f.Seen.On(topic).Count;

        // act 3: the refresh interval passes.
        f.Advance(TimeSpan.FromSeconds(30));

        // assert
        Assert.Equal(settled, quiet);
        Assert.InRange(afterChange - quiet, 1, 3);
        Assert.Equal("stopped", MonitoringFixture.Json(last).GetProperty("state").GetString());
        Assert.Equal("stopped", MonitoringFixture.Json(last).GetProperty("desired").GetString());
        Assert.True(f.Seen.On(topic).Count > afterChange, "the full refresh republishes unchanged statuses");
    }

    [Fact]
    [Trait("spec", "M-13")]
    public async Task M13_NodeRemovedByReload_GetsZeroLengthRetainedAfterFinalization_OthersKept()
    {
        // arrange
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration([.. f.Top, MonitoringFixture.Leaf("b")]);
        f.Publisher.Start();
        f.TickUntilAllRunning(4);
        f.Advance(TimeSpan.FromSeconds(2));
        Assert.NotNull(f.Broker.Retained($"{f.Prefix}/status/b"));

        // act: the declaration drops b; it drains and is finalized.
        f.Runtime.SetConfiguration(f.Top);
        f.TickUntil(s => s.Find("b") is null, "b to be finalized");
        f.Advance(TimeSpan.FromSeconds(1));

        // assert
        ReceivedMessage cleared = f.Seen.On($"{f.Prefix}/status/b")[^1];
        Assert.Empty(cleared.Payload);
        Assert.Null(f.Broker.Retained($"{f.Prefix}/status/b"));
        Assert.Equal(
            [$"{f.Prefix}/status/p0", $"{f.Prefix}/status/p0/w0", $"{f.Prefix}/status/p0/w1"],
            f.Broker.RetainedTopics($"{f.Prefix}/status/#"));
    }

    [Fact]
    public async Task Reconnect_AfterBrokerLostRetainedStore_RepublishesOnlineThenEveryStatus()
    {
        // arrange
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.Publisher.Start();
        f.TickUntilAllRunning(3);
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromSeconds(1));
        long heartbeats = f.Publisher.HeartbeatSequence;

        // act: the broker restarts without its retained store; the clients come back.
        f.Broker.Stop();
        f.Broker.Start();

        // assert
        Assert.Equal(
            [$"{f.Prefix}/status/p0", $"{f.Prefix}/status/p0/w0", $"{f.Prefix}/status/p0/w1"],
            f.Broker.RetainedTopics($"{f.Prefix}/status/#"));
        JsonElement state = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/runtime/state")!).RootElement;
        Assert.Equal("online", state.GetProperty("state").GetString());
        Assert.Equal(heartbeats + 1, f.Publisher.HeartbeatSequence);
        Assert.Equal(3, state.GetProperty("tree").GetProperty("nodes").GetInt32());
    }

    [Fact]
    public async Task Heartbeat_StartingThenOnlineEveryInterval_SeqIncreases()
    {
        // arrange
        await using var f = new MonitoringFixture(o => new MonitoringOptions
        {
            RuntimeId = o.RuntimeId,
            TopicPrefix = o.TopicPrefix,
            HeartbeatInterval = TimeSpan.FromSeconds(2),
        });
        f.Publisher.Start();
        string topic = $"{f.Prefix}/runtime/state";

        // act
        f.Advance(TimeSpan.FromMilliseconds(200));
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromSeconds(4));

        // assert
        List<JsonElement> beats = [.. f.Seen.On(topic).Select(MonitoringFixture.Json)];
        Assert.Equal("starting", beats[0].GetProperty("state").GetString());
        Assert.All(beats.Skip(1), b => Assert.Equal("online", b.GetProperty("state").GetString()));
        Assert.InRange(beats.Count, 3, 5);
        Assert.Equal(Enumerable.Range(1, beats.Count).Select(i => (long)i), beats.Select(b => b.GetProperty("seq").GetInt64()));
        Assert.Equal("2026-11-28T10:00:00.000Z", beats[0].GetProperty("startedAt").GetString());
    }

    [Fact]
    [Trait("spec", "M-27")]
    public async Task M27_CleanShutdown_RuntimeStateEndsOfflineShutdown_NoWillAfterNormalDisconnect()
    {
        // arrange
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.Publisher.Start();
        f.TickUntilAllRunning(3);
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromSeconds(1));

        // act: the host's shutdown sequence (§10): stopping, drain, final messages, normal disconnect.
        f.Publisher.MarkStopping();
        Task<ShutdownResult> drain = f.Runtime.ShutdownAsync(Ct);
        f.TickUntil(_ => drain.IsCompleted, "the drain");
        await f.Publisher.StopAsync(clean: (await drain).Clean, Ct);
        await f.Mon.DisposeAsync();

        // assert
        List<string> states = [.. f.Seen.On($"{f.Prefix}/runtime/state").Select(m => MonitoringFixture.Json(m).GetProperty("state").GetString()!)];
        Assert.Contains("stopping", states);
        JsonElement final = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/runtime/state")!).RootElement;
        Assert.Equal("offline", final.GetProperty("state").GetString());
        Assert.Equal("shutdown", final.GetProperty("reason").GetString());
        Assert.True(final.GetProperty("clean").GetBoolean());
        Assert.DoesNotContain(f.Seen.On($"{f.Prefix}/runtime/state"), m => m.Text.Contains("connection_lost", StringComparison.Ordinal));
        Assert.NotEmpty(f.Broker.RetainedTopics($"{f.Prefix}/status/#"));
    }

    [Fact]
    [Trait("spec", "M-16")]
    public async Task M16_MetricsEverySecond_SeqNThenNPlus1_EveryCounterNonDecreasing()
    {
        // arrange
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.Publisher.Start();
        f.TickUntilAllRunning(3);
        string topic = $"{f.Prefix}/metrics";
        int before = f.Seen.On(topic).Count;

        // act: two intervals, with ticks in between.
        f.Advance(TimeSpan.FromSeconds(1));
        f.Step();
        f.Step();
        f.Advance(TimeSpan.FromSeconds(1));

        // assert
        IReadOnlyList<ReceivedMessage> snapshots = f.Seen.On(topic);
        Assert.True(snapshots.Count >= before + 2);
        JsonElement first = MonitoringFixture.Json(snapshots[^2]);
        JsonElement second = MonitoringFixture.Json(snapshots[^1]);
        Assert.Equal(first.GetProperty("seq").GetInt64() + 1, second.GetProperty("seq").GetInt64());
        Assert.Equal(1, first.GetProperty("intervalS").GetDouble());
        Dictionary<string, double> a = Counters(first);
        Dictionary<string, double> b = Counters(second);
        Assert.Contains("fsm2_tick_total", a.Keys);
        Assert.All(a, kv => Assert.True(b.TryGetValue(kv.Key, out double later) && later >= kv.Value, $"{kv.Key}: {kv.Value} then {later}"));
        Assert.True(b["fsm2_tick_total"] >= a["fsm2_tick_total"] + 2);
        List<string> names = [.. second.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("name").GetString()!)];
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Theory]
    [Trait("spec", "M-17")]
    [InlineData(true)]
    [InlineData(false)]
    public async Task M17_NodeLabelsOff_NoSeriesCarriesNodeTag_SeriesOfGoneNodesDropped(bool nodeLabels)
    {
        // arrange: node-tagged series as the catalogue's per-node metrics record them, for two live nodes and one that
        // is not in the tree.
        await using var f = new MonitoringFixture(o => new MonitoringOptions
        {
            RuntimeId = o.RuntimeId,
            TopicPrefix = o.TopicPrefix,
            MetricsInterval = TimeSpan.FromSeconds(1),
            NodeLabels = nodeLabels,
        });
        f.Runtime.SetConfiguration(f.Top);
        f.TickUntilAllRunning(3);
        using var meter = new Meter("Fsm2.Edge");
        string name = $"fsm2_test_{Guid.NewGuid():N}_total";
        Counter<long> counter = meter.CreateCounter<long>(name);
        counter.Add(2, new("node", "p0/w0"), new("worker_type", "synthetic"));
        counter.Add(3, new("node", "p0/w1"), new("worker_type", "synthetic"));
        counter.Add(7, new("node", "gone"), new("worker_type", "synthetic"));
        f.Publisher.Start();

        // act
        f.Advance(TimeSpan.FromSeconds(1));

        // assert
        JsonElement snapshot = MonitoringFixture.Json(f.Seen.On($"{f.Prefix}/metrics")[^1]);
        List<JsonElement> series = [.. snapshot.GetProperty("metrics").EnumerateArray().Where(m => m.GetProperty("name").GetString() == name)];
        if (nodeLabels)
        {
            Assert.Equal(["p0/w0", "p0/w1"], series.Select(s => s.GetProperty("tags").GetProperty("node").GetString()));
            Assert.Equal([2.0, 3.0], series.Select(s => s.GetProperty("value").GetDouble()));
        }
        else
        {
            JsonElement merged = Assert.Single(series);
            Assert.Equal(5, merged.GetProperty("value").GetDouble());
            Assert.Equal("synthetic", merged.GetProperty("tags").GetProperty("worker_type").GetString());
            Assert.All(
                snapshot.GetProperty("metrics").EnumerateArray(),
                m => Assert.False(m.TryGetProperty("tags", out JsonElement tags) && tags.TryGetProperty("node", out _), m.ToString()));
        }
    }

    private static Dictionary<string, double> Counters(JsonElement snapshot)
    {
        var counters = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (JsonElement m in snapshot.GetProperty("metrics").EnumerateArray())
        {
            if (m.GetProperty("type").GetString() == "counter")
            {
                string key = m.GetProperty("name").GetString() + (m.TryGetProperty("tags", out JsonElement tags) ? tags.ToString() : "");
                counters[key] = m.GetProperty("value").GetDouble();
            }
        }

        return counters;
    }
}
