using Fsm2.Edge.Health;
using Fsm2.Edge.Host.Demo;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Host.Tests.Demo;

/// <summary>The demo's table (50-runtime-monitoring §2.3) from made-up status and metric readings.</summary>
public sealed class DemoTableTests
{
    private static NodeStatus Node(string path, string type, string state, string reason = "", NodeMode mode = NodeMode.Full) =>
        new(path, type, state, reason, "active", NodeLifecycle.Active, false, null, [], 0) { Mode = mode };

    private static DemoSample Sample(long sim, long flowIn, long flowOut, int inFlight = 0, int depth = 0, double? p99 = null,
        Dictionary<string, double>? age = null) => new(
        new Dictionary<string, long> { ["assembly/pc-press-1/source"] = flowIn },
        new Dictionary<string, long> { ["assembly/pc-press-1/source"] = flowOut },
        new Dictionary<string, long> { ["devices/sim-press-1"] = sim },
        age ?? [],
        inFlight,
        depth,
        p99);

    [Fact]
    public void Render_RowsPerNodeInOrder_RatesFromTheTwoReadings_FooterTotals()
    {
        // arrange
        var status = new RuntimeStatus(
        [
            Node("devices", "group", "active"),
            Node("devices/sim-press-1", "device-simulator", "active", "publishing"),
            Node("assembly/pc-press-1/connection", "connection", "degraded", "connection refused"),
            Node("assembly/pc-press-1/source", "source-flow", "active") with { Breaker = BreakerStatus.Closed with { State = BreakerState.Open } },
        ], 7);
        var frame = new DemoTable.Frame("mqtt://127.0.0.1:1883", "x64-gateway", TimeSpan.FromSeconds(62), 620, 1024, TimeSpan.FromSeconds(5),
            Sample(sim: 10, flowIn: 10, flowOut: 8), Sample(sim: 25, flowIn: 25, flowOut: 23, inFlight: 2, depth: 1, p99: 38e-6,
                age: new Dictionary<string, double> { ["devices"] = 0.3 }));

        // act
        IReadOnlyList<string> lines = DemoTable.Render(status, frame);

        // assert
        Assert.Equal(status.Nodes.Count + 3, lines.Count);
        Assert.Equal("fsm2-edge demo  broker=mqtt://127.0.0.1:1883  profile=x64-gateway  uptime=00:01:02  ticks=620  tick p99=38µs", lines[0]);
        Assert.Equal(["NODE", "TYPE", "STATE", "MODE", "OBS", "AGE", "MSG/s", "REASON"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["devices", "group", "active", "full", "0.3s", "-"], lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["devices/sim-press-1", "device-simulator", "active", "full", "-", "3.0", "publishing"], lines[3].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.EndsWith("degraded  full   -        -      connection refused", lines[4], StringComparison.Ordinal);
        Assert.Equal(["assembly/pc-press-1/source", "source-flow", "active", "full", "-", "3.0"], lines[5].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("actions in flight 2 | ring 1/1024 | breakers open 1 | msg/s in 3.0 out 3.0 | Ctrl+C to stop", lines[^1]);

        // columns line up: every row's TYPE starts where the header's does.
        int typeColumn = lines[1].IndexOf("TYPE", StringComparison.Ordinal);
        Assert.All(lines.Skip(2).Take(status.Nodes.Count), l => Assert.NotEqual(' ', l[typeColumn]));
        Assert.All(lines.Skip(2).Take(status.Nodes.Count), l => Assert.Equal(' ', l[typeColumn - 1]));
    }

    [Fact]
    public void Render_LongPathWidensTheNodeColumn_NoTicksShowDash_HealthOnlyMode()
    {
        // arrange
        string longPath = "assembly/" + new string('x', 40) + "/source";
        var status = new RuntimeStatus([Node(longPath, "source-flow", "active", mode: NodeMode.HealthOnly)], 1);
        var frame = new DemoTable.Frame("mqtt://127.0.0.1:1", "arm64-small", TimeSpan.Zero, 0, 256, TimeSpan.FromSeconds(1), DemoSample.Empty, DemoSample.Empty);

        // act
        IReadOnlyList<string> lines = DemoTable.Render(status, frame);

        // assert
        Assert.EndsWith("tick p99=-", lines[0], StringComparison.Ordinal);
        Assert.StartsWith(longPath + " source-flow", lines[2], StringComparison.Ordinal);
        Assert.Equal(lines[1].IndexOf("TYPE", StringComparison.Ordinal), lines[2].IndexOf("source-flow", StringComparison.Ordinal));
        Assert.Contains(" health ", lines[2], StringComparison.Ordinal);
        Assert.Equal("actions in flight 0 | ring 0/256 | breakers open 0 | msg/s in 0.0 out 0.0 | Ctrl+C to stop", lines[^1]);
    }
}
