using System.Globalization;
using System.Text;
using Fsm2.Edge.Config;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios;

/// <summary>
/// Configuration-driven scenarios of 60-scenarios with the real worker pack (E-05, E-08): a YAML file through the
/// validation pipeline and <see cref="ConfigWatcher"/>, reloads through the same pipeline, the in-memory MQTT double
/// as the broker, the real clock with compressed intervals (10 ms ticks, 100 ms simulator interval). Every wait is an
/// observable state, log event or MQTT message with a deadline.
/// </summary>
public sealed class ConfigReloadScenarioTests
{
    private const string UnsRoot = "umh/v1/acme.plant-1.assembly.line-a.press-1/";

    private static string Plant(int devicePort, string pcState = "") => $$$"""
        runtime: { id: gw-press-hall, profile: x64-gateway, location: { enterprise: acme, site: plant-1 } }
        global: { uns_version: v1 }
        workers:
          - type: group
            name: devices
            children:
              - type: device-simulator
                name: sim-press-1
                variables: { device: press-1, device_port: {{{devicePort}}} }
                config: |
                  device: "{{ device }}"
                  interval: 100ms
                  tcp_listen: "127.0.0.1:{{ device_port }}"
                  tags:
                    - { name: temperature, kind: sine, min: 60, max: 80, period: 60s }
                    - { name: setpoint, kind: constant, value: 70, writable: true }
          - type: group
            name: assembly
            location: { area: assembly }
            variables: { IP: 127.0.0.1, PORT: {{{devicePort}}} }
            children:
              - type: protocol-converter
                name: pc-press-1
                {{{pcState}}}
                location: { line: line-a, cell: press-1 }
                variables: { device: press-1 }
                config: |
                  host: "{{ IP }}"
                  port: {{ PORT }}
                  device_topic: "devices/{{ device }}/#"
                  qos: 1
                  sink: { enabled: true }
                templates:
                  uns_topic: "umh/{{ global.uns_version }}/{{ location_path }}/_historian/{{ tag }}"
        """;

    private static readonly string[] s_pc = ["assembly/pc-press-1", "assembly/pc-press-1/connection", "assembly/pc-press-1/source", "assembly/pc-press-1/sink"];

    [Fact]
    [Trait("spec", "E-05")]
    public async Task E05_ConverterStoppedAndRestartedThroughTheConfig_NothingRecreated()
    {
        // arrange
        int port = ConfigRuntime.FreePort();
        await using var run = new ConfigRuntime(Plant(port));
        run.Start();
        run.WaitState("active", ["devices/sim-press-1", .. s_pc]);
        Wait.Until(() => run.Observer.Count(t => t.StartsWith(UnsRoot, StringComparison.Ordinal)) >= 3, "UNS traffic before the stop");
        Dictionary<string, DateTimeOffset> created = s_pc.ToDictionary(p => p, p => run.Node(p).CreatedAt);
        int routesActive = run.Data.RouteCount;
        int mark = run.Logs.Count;

        // act 1: state: stopped on pc-press-1.
        ConfigReloadOutcome stop = run.Reload(Plant(port, "state: stopped"));
        run.WaitState("stopped", s_pc);

        // assert 1: the converter and its children walk their stop paths, one unsubscribe per flow.
        Assert.Equal(ConfigReloadKind.Applied, stop.Kind);
        Assert.Equal(2, stop.Generation);
        Assert.Equal(1, stop.Changes!.Updated);
        Assert.Equal(["active", "stopping", "stopped"], run.StatePath("assembly/pc-press-1", mark));
        Assert.Equal(["active", "trying_to_unsubscribe", "stopped"], run.StatePath("assembly/pc-press-1/source", mark));
        Assert.Equal(["active", "trying_to_unsubscribe", "stopped"], run.StatePath("assembly/pc-press-1/sink", mark));
        Assert.Equal(["active", "stopped"], run.StatePath("assembly/pc-press-1/connection", mark));
        Assert.Equal(routesActive - 2, run.Data.RouteCount);

        // assert 2: while stopped, device messages produce no UNS messages; the simulator keeps publishing.
        int unsWhileStopped = run.Observer.Count(t => t.StartsWith(UnsRoot, StringComparison.Ordinal));
        int device = run.Observer.Count("devices/press-1/temperature");
        Wait.Until(() => run.Observer.Count("devices/press-1/temperature") >= device + 5, "five more device messages");
        Assert.Equal(unsWhileStopped, run.Observer.Count(t => t.StartsWith(UnsRoot, StringComparison.Ordinal)));
        Assert.Equal("active", run.Node("devices/sim-press-1").CurrentStateName);

        // act 2: the entry's state removed again.
        mark = run.Logs.Count;
        ConfigReloadOutcome start = run.Reload(Plant(port));
        run.WaitState("active", s_pc);

        // assert 3: back to active with one subscribe per flow; forwarding resumes; no node removed or re-created.
        Assert.Equal(ConfigReloadKind.Applied, start.Kind);
        Assert.Equal(3, start.Generation);
        Assert.Equal(1, start.Changes!.Updated);
        Assert.Equal(["stopped", "starting", "active"], run.StatePath("assembly/pc-press-1", mark));
        Assert.Equal(["stopped", "trying_to_subscribe", "active"], run.StatePath("assembly/pc-press-1/source", mark));
        Assert.Equal(["stopped", "trying_to_subscribe", "active"], run.StatePath("assembly/pc-press-1/sink", mark));
        Assert.Equal(routesActive, run.Data.RouteCount);
        Wait.Until(() => run.Observer.Count(t => t.StartsWith(UnsRoot, StringComparison.Ordinal)) >= unsWhileStopped + 3, "UNS traffic after the restart");
        Assert.All(s_pc, p => Assert.Equal(created[p], run.Node(p).CreatedAt));
        Assert.Empty(run.Events("node_removing"));
        Assert.Empty(run.Events("node_replaced"));
        List<FakeLogRecord> applied = [.. run.Events("config_reload_applied")];
        Assert.Equal(2, applied.Count);
        Assert.Equal(["2", "3"], applied.Select(r => ConfigRuntime.Field(r, "Generation")));
        Assert.All(applied, r => Assert.Equal("1", ConfigRuntime.Field(r, "Updated")));
    }

    private static string Bulk(string prefix, int count)
    {
        var yaml = new StringBuilder($$"""
            runtime: { id: gw-bulk, profile: x64-gateway, location: { enterprise: acme, site: plant-1 } }
            global: { prefix: {{prefix}} }
            workers:
              - type: group
                name: bulk
                location: { area: bulk }
                children:

            """);
        for (int i = 0; i < count; i++)
        {
            string name = "sim-" + i.ToString("000", CultureInfo.InvariantCulture);
            yaml.Append(CultureInfo.InvariantCulture, $"      - type: device-simulator\n        name: {name}\n        variables: {{ idx: {i} }}\n");
            yaml.Append(i == 0 ? "        config: &sim |\n" : "        config: *sim\n");
            if (i == 0)
            {
                yaml.Append("          # {{ location_path }} {{ internal.id }}\n")
                    .Append("          device: \"{{ global.prefix }}-{{ idx }}\"\n")
                    .Append("          interval: 1s\n")
                    .Append("          tags:\n")
                    .Append("            - { name: value, kind: constant, value: 1 }\n");
            }
        }

        return yaml.ToString();
    }

    private static string Sim(int i) => "bulk/sim-" + i.ToString("000", CultureInfo.InvariantCulture);

    [Fact]
    [Trait("spec", "E-08")]
    public async Task E08_120TemplatedChildren_CreatedInOrder_GlobalChangeRederivesEachOnce_RemovalOf20KeepsTheRest()
    {
        // arrange
        await using var run = new ConfigRuntime(Bulk("p1", 120));
        string[] all = [.. Enumerable.Range(0, 120).Select(Sim)];

        // act 1: start.
        run.Start();
        run.WaitState("active", all);

        // assert 1: 120 nodes, created in spec order, each with its own rendered device name (the template also
        // prints location_path and internal.id in a comment, so a missing variable would fail the strict render).
        List<string> added = [.. run.Events("node_added").Select(r => ConfigRuntime.Field(r, "Node")!).Where(n => n.StartsWith("bulk/", StringComparison.Ordinal))];
        Assert.Equal(all, added);
        Assert.Equal(120, run.Runtime.FindNode("bulk")!.Children.Count);
        SupervisorNode sim7 = run.Node(Sim(7));
        Assert.Equal("acme.plant-1.bulk", sim7.LocationPath);
        Wait.Until(() => Enumerable.Range(0, 120).All(i => run.Observer.Count($"devices/p1-{i}/value") > 0), "a publication of every p1 device");
        Dictionary<string, DateTimeOffset> created = all.ToDictionary(p => p, p => run.Node(p).CreatedAt);
        Dictionary<string, long> renders = all.ToDictionary(p => p, p => run.Node(p).TemplateRenderCount);

        // act 2: a new Global prefix.
        ConfigReloadOutcome prefix = run.Reload(Bulk("p2", 120));
        Wait.Until(() => all.All(p => run.Node(p).TemplateRenderCount > renders[p]), "every child re-rendered");
        Wait.Until(() => Enumerable.Range(0, 120).All(i => run.Observer.Count($"devices/p2-{i}/value") > 0), "a publication of every p2 device");

        // assert 2: each child re-derived exactly once, none re-created.
        Assert.Equal(ConfigReloadKind.Applied, prefix.Kind);
        Assert.All(all, p => Assert.Equal(renders[p] + 1, run.Node(p).TemplateRenderCount));
        Assert.All(all, p => Assert.Equal(created[p], run.Node(p).CreatedAt));
        Assert.Equal(120, run.Events("node_added").Count(r => ConfigRuntime.Field(r, "Node")!.StartsWith("bulk/", StringComparison.Ordinal)));

        // act 3: the same file again.
        renders = all.ToDictionary(p => p, p => run.Node(p).TemplateRenderCount);
        int updates = run.Events("node_updated").Count;
        long ticks = run.Node("bulk").TickCount;
        ConfigReloadOutcome same = run.Reload(Bulk("p2", 120));
        Wait.Until(() => run.Node("bulk").TickCount >= ticks + 20, "twenty more ticks");

        // assert 3: unchanged, no derive at all.
        Assert.Equal(ConfigReloadKind.Unchanged, same.Kind);
        Assert.Single(run.Events("config_reload_unchanged"));
        Assert.All(all, p => Assert.Equal(renders[p], run.Node(p).TemplateRenderCount));
        Assert.Equal(updates, run.Events("node_updated").Count);

        // act 4: sim-100 ... sim-119 dropped.
        ConfigReloadOutcome removal = run.Reload(Bulk("p2", 100));
        string[] dropped = all[100..];
        Wait.Until(() => dropped.All(p => run.Runtime.FindNode(p) is null), "the 20 dropped nodes finalized");

        // assert 4: 20 graceful removals ending stopped; the other 100 keep their instances.
        Assert.Equal(ConfigReloadKind.Applied, removal.Kind);
        Assert.Equal(20, removal.Changes!.Removed);
        List<FakeLogRecord> removed = [.. run.Events("node_removed")];
        Assert.Equal(dropped.Order(StringComparer.Ordinal), removed.Select(r => ConfigRuntime.Field(r, "Node")!).Order(StringComparer.Ordinal));
        Assert.All(removed, r => Assert.Equal("stopped", ConfigRuntime.Field(r, "FinalState")));
        Assert.All(all[..100], p => Assert.Equal(created[p], run.Node(p).CreatedAt));
        Assert.Equal(100, run.Node("bulk").Children.Count);
    }
}
