using Fsm2.Edge.Config;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-12 of 60-scenarios: the spec of a running converter flaps, one reload per tick, between <c>state: stopped</c> and
/// no state, then its sink is switched on and off every two ticks. Mode A on PLANT, fake time throughout.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E12SpecFlappingScenarioTests
{
    private const string Pc = "assembly/pc-press-1";
    private const string Uns1 = "umh/v1/acme.plant-1.assembly.line-a.press-1/_historian/";

    [Fact]
    [Trait("spec", "E-12")]
    public async Task E12_SpecFlapping_NothingRecreatedNoStuckStoppingOneSinkAtATime()
    {
        // arrange
        int devicePort = ConfigRuntime.FreePort();
        int devicePort2 = ConfigRuntime.FreePort();
        // The host is built on PLANT without its converters, which arrive with the first reload: EdgeTestHost's
        // per-message template lookup reads the watcher before the constructor has created it, so a converter in the
        // constructor's YAML fails its dry derive (FSM2CFG044, NullReferenceException).
        await using var host = new EdgeTestHost(ScenarioYaml.WithoutConverters(Plant(devicePort, devicePort2, stopped: false, sink: true)));
        host.Start();
        Assert.Equal(ConfigReloadKind.Applied, host.Reload(Plant(devicePort, devicePort2, stopped: false, sink: true)).Kind);
        string[] four = [Pc, Pc + "/connection", Pc + "/source", Pc + "/sink"];
        await host.AdvanceUntilAsync(() => four.All(p => host.State(p) == "active"), TimeSpan.FromSeconds(20), "pc-press-1 active\n" + host.Describe());
        Dictionary<string, DateTimeOffset> created = four[..3].ToDictionary(p => p, p => host.Node(p).CreatedAt);
        int mark = host.Logs.GetSnapshot().Count;
        int maxSinks = 0;
        void CountSinks()
        {
            SupervisorNode pc = host.Node(Pc);
            int sinks = (pc.GetChild("sink") is null ? 0 : 1) + (pc.GetRemovingChild("sink") is null ? 0 : 1);
            maxSinks = Math.Max(maxSinks, sinks);
        }

        // act: 20 reloads alternating state: stopped / no state, one per tick.
        for (int i = 0; i < 20; i++)
        {
            ConfigReloadOutcome outcome = host.Reload(Plant(devicePort, devicePort2, stopped: i % 2 == 0, sink: true));
            Assert.Equal(ConfigReloadKind.Applied, outcome.Kind);
            await host.AdvanceAsync(host.TickInterval, CountSinks);
        }

        // then 10 reloads toggling sink.enabled every 2 ticks; finally state absent and the sink on; 10 s.
        for (int i = 0; i < 10; i++)
        {
            ConfigReloadOutcome outcome = host.Reload(Plant(devicePort, devicePort2, stopped: false, sink: i % 2 == 1));
            Assert.Equal(ConfigReloadKind.Applied, outcome.Kind);
            await host.AdvanceAsync(host.TickInterval * 2, CountSinks);
        }

        _ = host.Reload(Plant(devicePort, devicePort2, stopped: false, sink: true));
        await host.AdvanceAsync(TimeSpan.FromSeconds(10), CountSinks);

        // assert: pc-press-1, connection and source are never re-created.
        Assert.All(created, c => Assert.Equal(c.Value, host.Node(c.Key).CreatedAt));
        FakeLogRecord[] records = [.. host.Logs.GetSnapshot().Skip(mark)];
        Assert.DoesNotContain(records, r => r.Id.Name is "node_added" or "node_removing" or "node_replaced" && EdgeTestHost.Field(r, "Node") is string n && created.ContainsKey(n));

        // every stopping episode of pc-press-1 ends in stopped within 3 s (none left stuck).
        FakeLogRecord[] pcTransitions = [.. records.Where(r => r.Id.Name == "state_transition" && EdgeTestHost.Field(r, "Node") == Pc)];
        Assert.Contains(pcTransitions, r => EdgeTestHost.Field(r, "To") == "stopping");
        for (int i = 0; i < pcTransitions.Length; i++)
        {
            if (EdgeTestHost.Field(pcTransitions[i], "To") != "stopping")
            {
                continue;
            }

            Assert.True(i + 1 < pcTransitions.Length, "a stopping episode never ended\n" + host.Describe());
            FakeLogRecord end = pcTransitions[i + 1];
            Assert.Equal("stopped", EdgeTestHost.Field(end, "To"));
            Assert.True(end.Timestamp - pcTransitions[i].Timestamp <= TimeSpan.FromSeconds(3), $"stopping lasted {end.Timestamp - pcTransitions[i].Timestamp}");
        }

        // at every tick at most one node named sink (active or removing); the sink was re-declared at least once.
        Assert.Equal(1, maxSinks);
        Assert.Contains(records, r => r.Id.Name == "node_removed" && EdgeTestHost.Field(r, "Node") == Pc + "/sink");

        // final state: all four active, one route per flow (source, sink) on the data client.
        Assert.All(four, p => Assert.Equal("active", host.State(p)));
        int routesFinal = host.Data.RouteCount;
        _ = host.Reload(Plant(devicePort, devicePort2, stopped: true, sink: true));
        await host.AdvanceUntilAsync(() => host.State(Pc) == "stopped", TimeSpan.FromSeconds(3), "stopped for the route count");
        Assert.Equal(2, routesFinal - host.Data.RouteCount);
        _ = host.Reload(Plant(devicePort, devicePort2, stopped: false, sink: true));
        await host.AdvanceUntilAsync(() => four.All(p => host.State(p) == "active"), TimeSpan.FromSeconds(10), "active again");
        Assert.Equal(routesFinal, host.Data.RouteCount);

        // each device message is forwarded exactly once.
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        int device0 = host.Observer.Snapshot(t => t == "devices/press-1/temperature").Count;
        int uns0 = host.Observer.Snapshot(t => t == Uns1 + "temperature").Count;
        await host.AdvanceAsync(TimeSpan.FromSeconds(10));
        int devices = host.Observer.Snapshot(t => t == "devices/press-1/temperature").Count - device0;
        int uns = host.Observer.Snapshot(t => t == Uns1 + "temperature").Count - uns0;
        Assert.InRange(devices, 9, 11);
        Assert.InRange(uns, devices - 1, devices + 1);
    }

    // PLANT (50 §3.7) with free ports; pc-press-1's state and sink switch as the scenario needs.
    private static string Plant(int devicePort, int devicePort2, bool stopped, bool sink)
        => ScenarioYaml.Plant(new PlantOptions(devicePort, devicePort2) { Pc1Stopped = stopped, Pc1Sink = sink });
}
