using Fsm2.Edge.Config;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-35 of 60-scenarios: a node's type changes under the same name (replaced: the old worker is stopped and finalized
/// before the new one is created), and a node is renamed (removed and added; nothing carries over). Mode A on PLANT,
/// fake time throughout.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E35TypeChangeScenarioTests
{
    private const string Prefix = "fsm2/gw-press-hall";
    private const string Sim = "devices/sim-press-1";
    private static readonly string[] s_pc2 = ["assembly/pc-press-2", "assembly/pc-press-2/connection", "assembly/pc-press-2/source"];

    [Fact]
    [Trait("spec", "E-35")]
    public async Task E35_TypeChangeReplacesUnderTheSameName_RenameRemovesAndAddsFresh()
    {
        // arrange: the host is built on PLANT without its converters, which arrive with the first reload: EdgeTestHost's
        // per-message template lookup reads the watcher before the constructor has created it, so a converter in the
        // constructor's YAML fails its dry derive (FSM2CFG044, NullReferenceException).
        int devicePort = ConfigRuntime.FreePort();
        int devicePort2 = ConfigRuntime.FreePort();
        await using var host = new EdgeTestHost(ScenarioYaml.WithoutConverters(Plant(devicePort, devicePort2)));
        host.Start();
        ConfigReloadOutcome first = host.Reload(Plant(devicePort, devicePort2));
        Assert.True(first.Kind == ConfigReloadKind.Applied, string.Join("\n", first.Findings));
        await host.AdvanceUntilAsync(() => host.State(Sim) == "active" && host.State("assembly/pc-press-1") == "active", TimeSpan.FromSeconds(20), "PLANT running\n" + host.Describe());
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        DateTimeOffset simCreated = host.Node(Sim).CreatedAt;
        int mark = host.Logs.GetSnapshot().Count;
        int statusMark = host.Observer.Count;
        int maxSims = 0;
        void CountSims()
        {
            SupervisorNode devices = host.Node("devices");
            maxSims = Math.Max(maxSims, (devices.GetChild("sim-press-1") is null ? 0 : 1) + (devices.GetRemovingChild("sim-press-1") is null ? 0 : 1));
        }

        // act 1: sim-press-1 becomes a protocol converter; 10 s.
        ConfigReloadOutcome typeChange = host.Reload(Plant(devicePort, devicePort2, simAsConverter: true));
        CountSims();
        await host.AdvanceAsync(TimeSpan.FromSeconds(10), CountSims);

        // assert 1: the simulator walks trying_to_stop -> stopped and is finalized (TypeChanged), then the converter
        // is created under the same name; never both at once.
        Assert.True(typeChange.Kind == ConfigReloadKind.Applied, string.Join("\n", typeChange.Findings));
        Assert.Equal(1, typeChange.Changes!.Replaced);
        FakeLogRecord[] records = [.. host.Logs.GetSnapshot().Skip(mark)];
        FakeLogRecord removed = Assert.Single(records, r => r.Id.Name == "node_removed" && EdgeTestHost.Field(r, "Node") == Sim);
        Assert.Equal("device-simulator", EdgeTestHost.Field(removed, "WorkerType"));
        Assert.Equal("type_changed", EdgeTestHost.Field(removed, "Reason")); // ShutdownReason.TypeChanged as the log names it
        Assert.Equal("stopped", EdgeTestHost.Field(removed, "FinalState"));
        int removedAt = Array.IndexOf(records, removed);
        List<string> simPath = [.. records.Take(removedAt).Where(r => r.Id.Name == "state_transition" && EdgeTestHost.Field(r, "Node") == Sim).Select(r => EdgeTestHost.Field(r, "To") ?? "")];
        Assert.Equal(["trying_to_stop", "stopped"], simPath.TakeLast(2));
        int addedAt = Array.FindIndex(records, r => r.Id.Name == "node_added" && EdgeTestHost.Field(r, "Node") == Sim);
        Assert.True(addedAt > removedAt, "the converter was added before the simulator was finalized\n" + host.Describe());
        Assert.Equal("protocol-converter", EdgeTestHost.Field(records[addedAt], "WorkerType"));
        Assert.Equal(1, maxSims);
        SupervisorNode converter = host.Node(Sim);
        Assert.Equal("protocol-converter", converter.WorkerType);
        Assert.True(converter.CreatedAt > simCreated);

        // its status topic receives a zero-length message and then the converter's status.
        List<(string Topic, string Payload, bool Retained)> simStatus = [.. host.Observer.Snapshot().Skip(statusMark).Where(m => m.Topic == Prefix + "/status/" + Sim)];
        int cleared = simStatus.FindIndex(m => m.Payload.Length == 0);
        Assert.True(cleared >= 0, "no zero-length status for " + Sim + ":\n" + string.Join("\n", simStatus.Select(m => m.Payload[..Math.Min(120, m.Payload.Length)])));
        Assert.Contains(simStatus.Skip(cleared + 1), m => m.Payload.Contains("protocol-converter", StringComparison.Ordinal));
        Assert.DoesNotContain(simStatus.Skip(cleared + 1), m => m.Payload.Contains("device-simulator", StringComparison.Ordinal));
        Assert.Contains("protocol-converter", System.Text.Encoding.UTF8.GetString(host.Broker.Retained(Prefix + "/status/" + Sim) ?? []), StringComparison.Ordinal);

        // act 2: pc-press-2 renamed to pc-press-2b; 10 s.
        Dictionary<string, DateTimeOffset> pc2Created = s_pc2.ToDictionary(p => p, p => host.Node(p).CreatedAt);
        TimeSpan renamedAt = host.Elapsed;
        mark = host.Logs.GetSnapshot().Count;
        statusMark = host.Observer.Count;
        ConfigReloadOutcome rename = host.Reload(Plant(devicePort, devicePort2, simAsConverter: true, pc2Name: "pc-press-2b"));
        await host.AdvanceAsync(TimeSpan.FromSeconds(10));

        // assert 2: pc-press-2 and its children are removed and their statuses cleared.
        Assert.True(rename.Kind == ConfigReloadKind.Applied, string.Join("\n", rename.Findings));
        records = [.. host.Logs.GetSnapshot().Skip(mark)];
        Assert.All(s_pc2, p =>
        {
            Assert.Null(host.Runtime.FindNode(p));
            Assert.Contains(records, r => r.Id.Name == "node_removed" && EdgeTestHost.Field(r, "Node") == p);
            Assert.Contains(host.Observer.Snapshot().Skip(statusMark), m => m.Topic == Prefix + "/status/" + p && m.Payload.Length == 0);
            Assert.Null(host.Broker.Retained(Prefix + "/status/" + p));
        });

        // pc-press-2b starts from its initial state with a new created_at; nothing carries over.
        string[] pc2b = [.. s_pc2.Select(p => p.Replace("pc-press-2", "pc-press-2b", StringComparison.Ordinal))];
        Assert.All(pc2b, p =>
        {
            SupervisorNode node = host.Node(p);
            Assert.True(node.CreatedAt - host.SlowEnv.StartedAt >= renamedAt, $"{p} created at {node.CreatedAt}");
            Assert.DoesNotContain(pc2Created.Values, c => c == node.CreatedAt);
            Assert.Contains(records, r => r.Id.Name == "node_added" && EdgeTestHost.Field(r, "Node") == p);
            Assert.NotNull(host.Broker.Retained(Prefix + "/status/" + p));
        });
        Assert.Equal("stopped", host.State("assembly/pc-press-2b"));
        Assert.Equal(0, host.Node("assembly/pc-press-2b").Incarnation);
        List<string> pc2bPath = host.StatePath("assembly/pc-press-2b", mark);
        Assert.DoesNotContain(pc2bPath, s => s is "active" or "starting" or "stopping");
    }

    // PLANT (50 §3.7) with free ports; sim-press-1 as a temperature-only simulator or a converter, pc-press-2 under either name.
    private static string Plant(int devicePort, int devicePort2, bool simAsConverter = false, string pc2Name = "pc-press-2")
        => ScenarioYaml.Plant(new PlantOptions(devicePort, devicePort2)
        {
            Devices = simAsConverter ? ConverterAsSim(devicePort2) : ScenarioYaml.Simulator("sim-press-1", "press-1", devicePort, temperatureOnly: true),
            Pc2Name = pc2Name,
        });

    private static string ConverterAsSim(int devicePort2) => $$$"""
              - type: protocol-converter
                name: sim-press-1
                variables: { device: press-1 }
                config: |
                  host: 127.0.0.1
                  port: {{{devicePort2}}}
                  device_topic: "devices/{{ device }}/#"
        """;
}
