using System.Text;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Monitoring;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>The orphan sweep (shared/spec/50-runtime-monitoring.md §6.7) on the in-memory double and a fake clock.</summary>
public sealed class OrphanSweepTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("spec", "50-6.7")]
    public async Task OrphanSweep_AfterTwoSecondsOnTheInjectedClock_ClearsStatusesOfNodesNotInTheTree_LiveOnesUntouched()
    {
        // arrange: statuses left behind by nodes deleted while the runtime was down, and a stale one of a live node.
        await using var f = new MonitoringFixture();
        await Plant(f, "deleted");
        await Plant(f, "p0/gone");
        await Plant(f, "p0/w0");
        f.Runtime.SetConfiguration(f.Top);
        f.TickUntil(s => s.Nodes.Count == 3, "the tree");
        int routesBefore = f.Mon.RouteCount;

        // act 1: the publisher connects: full status publish, then the sweep starts.
        f.Publisher.Start();
        f.Advance(TimeSpan.FromMilliseconds(200));
        int routesDuring = f.Mon.RouteCount;
        f.Advance(TimeSpan.FromMilliseconds(1600));
        byte[]? beforeWindowEnds = f.Broker.Retained($"{f.Prefix}/status/deleted");

        // act 2: the 2 s window passes.
        f.Advance(TimeSpan.FromMilliseconds(600));

        // assert
        Assert.Equal(routesBefore + 2, routesDuring); // the sweep's and the runtime state watch's
        Assert.NotNull(beforeWindowEnds);
        Assert.Equal(
            [$"{f.Prefix}/status/p0", $"{f.Prefix}/status/p0/w0", $"{f.Prefix}/status/p0/w1"],
            f.Broker.RetainedTopics($"{f.Prefix}/status/#"));
        string liveW0 = Encoding.UTF8.GetString(f.Broker.Retained($"{f.Prefix}/status/p0/w0")!);
        Assert.Contains("\"node\":\"p0/w0\"", liveW0, StringComparison.Ordinal);
        Assert.DoesNotContain(f.Seen.On($"{f.Prefix}/status/p0/w0"), m => m.Payload.Length == 0);
        Assert.Equal(["status_orphans_cleared count=2: retained statuses of nodes not in the tree were cleared"], f.Events("status_orphans_cleared"));
        Assert.Equal(routesDuring - 1, f.Mon.RouteCount);
        Assert.Equal(1, f.Publisher.OrphanSweeps);
    }

    [Fact]
    [Trait("spec", "50-6.7")]
    public async Task OrphanSweep_NothingToClear_LogsCountZero()
    {
        // arrange
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.TickUntil(s => s.Nodes.Count == 3, "the tree");

        // act
        f.Publisher.Start();
        f.Advance(TimeSpan.FromSeconds(3));

        // assert
        Assert.Equal(["status_orphans_cleared count=0: retained statuses of nodes not in the tree were cleared"], f.Events("status_orphans_cleared"));
        Assert.Equal(3, f.Broker.RetainedTopics($"{f.Prefix}/status/#").Count);
    }

    [Fact]
    [Trait("spec", "50-6.7")]
    public async Task OrphanSweep_WaitsForTheFirstTick_TheHostStartsThePublisherBeforeTheRuntime()
    {
        // arrange: a retained status of a live node, and the publisher running before the runtime ticked.
        await using var f = new MonitoringFixture();
        await Plant(f, "p0");
        f.Publisher.Start();
        f.Advance(TimeSpan.FromSeconds(3));
        bool sweptBeforeFirstTick = f.Events("status_orphans_cleared").Count > 0;

        // act: the runtime starts.
        f.Runtime.SetConfiguration(f.Top);
        f.TickUntil(s => s.Nodes.Count == 3, "the tree");
        f.Advance(TimeSpan.FromSeconds(3));

        // assert: the sweep ran once, after the tree existed, and kept p0.
        Assert.False(sweptBeforeFirstTick);
        Assert.Equal(["status_orphans_cleared count=0: retained statuses of nodes not in the tree were cleared"], f.Events("status_orphans_cleared"));
        Assert.Contains($"{f.Prefix}/status/p0", f.Broker.RetainedTopics($"{f.Prefix}/status/#"));
    }

    [Fact]
    [Trait("spec", "50-6.7")]
    public async Task OrphanSweep_RunsAgainAfterAReconnect_ClearsWhatAppearedMeanwhile()
    {
        // arrange: connected, first sweep done.
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.TickUntil(s => s.Nodes.Count == 3, "the tree");
        f.Publisher.Start();
        f.Advance(TimeSpan.FromSeconds(3));

        // act: while mon is away an orphan appears (e.g. a clear that could not be sent); mon comes back.
        f.Mon.Drop();
        await Plant(f, "left-behind");
        f.Mon.Reconnect();
        f.Advance(TimeSpan.FromSeconds(3));

        // assert
        Assert.Null(f.Broker.Retained($"{f.Prefix}/status/left-behind"));
        Assert.Equal(2, f.Publisher.OrphanSweeps);
        Assert.EndsWith("count=1: retained statuses of nodes not in the tree were cleared", f.Events("status_orphans_cleared")[^1], StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "50-6.7")]
    public async Task OrphanSweep_EndingDuringShutdown_ClearsNothing()
    {
        // arrange
        await using var f = new MonitoringFixture();
        await Plant(f, "deleted");
        f.Runtime.SetConfiguration(f.Top);
        f.TickUntil(s => s.Nodes.Count == 3, "the tree");
        f.Publisher.Start();
        f.Advance(TimeSpan.FromMilliseconds(400));

        // act: shutdown begins inside the window.
        f.Publisher.MarkStopping();
        f.Advance(TimeSpan.FromSeconds(3));

        // assert
        Assert.NotNull(f.Broker.Retained($"{f.Prefix}/status/deleted"));
        Assert.Empty(f.Events("status_orphans_cleared"));
        Assert.Single(f.Events("status_orphan_sweep_abandoned"));
    }

    private static async Task Plant(MonitoringFixture f, string path) =>
        await f.Observer.PublishAsync(
            $"{f.Prefix}/status/{path}", Encoding.UTF8.GetBytes($"{{\"node\":\"{path}\",\"state\":\"old\"}}"), EdgeQos.AtLeastOnce, retain: true, Ct);
}
