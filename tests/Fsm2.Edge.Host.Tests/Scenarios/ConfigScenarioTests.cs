using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Fsm2.Edge.Host.Tests.TestSupport;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.Scenarios;

/// <summary>
/// The host run on a PLANT-shaped file (60-scenarios §1.2; ports free, the worker pack real): hot reload through the
/// file watcher (E-15) and an external broker that is unreachable at startup (E-39). The broker is the embedded MQTTnet
/// broker: the host's own for E-15, one the test starts on the configured port for E-39. Both groups carry an
/// <c>mqtt</c> probe without <c>target</c>, so they probe the runtime's broker.
/// </summary>
public sealed partial class ConfigScenarioTests : IDisposable
{
    private const string Prefix = "fsm2/gw-press-hall";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-cfgscn-" + Guid.NewGuid().ToString("N"));

    public ConfigScenarioTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string Plant(string runtime, int devicePort, string converters) => $$$"""
        runtime:
          id: gw-press-hall
          profile: x64-server
          location: { enterprise: acme, site: plant-1 }
        {{{runtime}}}
        global: { uns_version: v1 }
        workers:
          - type: group
            name: devices
            probes: [ { type: mqtt, id: broker-devices } ]
            children:
              - type: device-simulator
                name: sim-press-1
                variables: { device: press-1, device_port: {{{devicePort}}} }
                config: |
                  device: "{{ device }}"
                  interval: 200ms
                  tcp_listen: "127.0.0.1:{{ device_port }}"
                  tags:
                    - { name: temperature, kind: sine, min: 60, max: 80, period: 60s }
          - type: group
            name: assembly
            location: { area: assembly }
            variables: { IP: 127.0.0.1, PORT: {{{devicePort}}} }
            probes: [ { type: mqtt, id: broker-assembly } ]
            children:
        {{{converters}}}
        """;

    private static string Converter(string name, string cell, string extra = "", string sink = "true",
        string template = "umh/{{ global.uns_version }}", string variables = "") => $$$"""
              - type: protocol-converter
                name: {{{name}}}
                {{{extra}}}
                location: { line: line-a, cell: {{{cell}}} }
                variables: { device: press-1{{{variables}}} }
                config: |
                  host: "{{ IP }}"
                  port: {{ PORT }}
                  device_topic: "devices/{{ device }}/#"
                  sink: { enabled: {{{sink}}} }
                templates:
                  uns_topic: "{{{template}}}/{{ location_path }}/_historian/{{ tag }}"

        """;

    private string WriteAtomically(string yaml)
    {
        string path = Path.Combine(_dir, "plant.yaml");
        string temp = Path.Combine(_dir, ".plant.yaml.tmp");
        File.WriteAllText(temp, yaml);
        File.Move(temp, path, overwrite: true);
        return path;
    }

    private static bool Active(Received m) => m.Payload.Length > 0 && m.State == "active";

    private static bool Status(Received m, string node, Func<Received, bool> match) => m.Topic == $"{Prefix}/status/{node}" && match(m);

    [Fact]
    [Trait("spec", "E-15")]
    public async Task E15_HotReloadAddUpdateRemove_OnlyWhatChangedIsTouchedAndStatusesFollow()
    {
        // arrange: PLANT with pc-press-1 (sink on) and pc-press-2 (stopped).
        int devicePort = FreePort();
        const string Runtime = "  embedded_broker: { port: 0 }\n  overrides: { supervision: { probe_interval_ms: 500, probe_timeout_ms: 250 } }";
        string file = WriteAtomically(Plant(Runtime, devicePort,
            Converter("pc-press-1", "press-1") + Converter("pc-press-2", "press-2", "state: stopped", sink: "false")));
        await using InProcessHost host = InProcessHost.Start(file, watch: true);
        int port = host.BrokerPort();
        await using Observer observer = await Observer.ConnectAsync(port, Prefix + "/status/#", Prefix + "/runtime/state", "umh/#", "umh2/#");
        foreach (string node in (string[])["devices/sim-press-1", "assembly/pc-press-1", "assembly/pc-press-1/connection", "assembly/pc-press-1/source", "assembly/pc-press-1/sink"])
        {
            observer.WaitFor(m => Status(m, node, Active), "active status of " + node, TimeSpan.FromSeconds(20));
        }

        observer.WaitFor(m => Status(m, "assembly/pc-press-2/source", r => r.State == "stopped"), "pc-press-2 resident and stopped", TimeSpan.FromSeconds(20));
        observer.WaitFor(m => m.Topic.StartsWith("umh/v1/acme.plant-1.assembly.line-a.press-1/_historian/", StringComparison.Ordinal), "UNS traffic of pc-press-1");
        int mark = observer.Messages.Count;

        // act: atomic replace — pc-press-3 added (sink off), pc-press-1's uns_topic uses a variable, pc-press-2 renamed.
        WriteAtomically(Plant(Runtime, devicePort,
            Converter("pc-press-1", "press-1", template: "{{ uns_root }}/{{ global.uns_version }}", variables: ", uns_root: umh2")
            + Converter("pc-press-2b", "press-2", "state: stopped", sink: "false")
            + Converter("pc-press-3", "press-3", sink: "false")));

        // assert: one applied reload, generation 2.
        host.WaitForLog("config_reload_applied", TimeSpan.FromSeconds(15));
        Match applied = ReloadApplied().Match(host.Log);
        Assert.True(applied.Success, host.Log);
        Assert.Equal("2", applied.Groups["generation"].Value);
        Assert.True(int.Parse(applied.Groups["updated"].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1, applied.Value);

        // pc-press-1 keeps its instance and its UNS topics follow the new template.
        observer.WaitFor(m => m.Index > mark && m.Topic.StartsWith("umh2/v1/acme.plant-1.assembly.line-a.press-1/_historian/", StringComparison.Ordinal),
            "UNS traffic on the new template", TimeSpan.FromSeconds(15));
        Assert.Single(NodeAdded().Matches(host.Log), m => m.Groups[1].Value == "assembly/pc-press-1");

        // the removed nodes get zero-length retained statuses after their finalization; the new ones get statuses.
        foreach (string node in (string[])["assembly/pc-press-2", "assembly/pc-press-2/connection", "assembly/pc-press-2/source"])
        {
            observer.WaitFor(m => m.Index > mark && Status(m, node, r => r.Payload.Length == 0), "status cleared for " + node, TimeSpan.FromSeconds(20));
        }

        string[] added = ["assembly/pc-press-2b", "assembly/pc-press-2b/connection", "assembly/pc-press-2b/source",
            "assembly/pc-press-3", "assembly/pc-press-3/connection", "assembly/pc-press-3/source"];
        foreach (string node in added)
        {
            observer.WaitFor(m => m.Index > mark && Status(m, node, r => r.Payload.Length > 0), "status of " + node, TimeSpan.FromSeconds(20));
            Assert.Contains(NodeAdded().Matches(host.Log), m => m.Groups[1].Value == node);
        }

        observer.WaitFor(m => Status(m, "assembly/pc-press-3/source", Active), "pc-press-3 forwarding", TimeSpan.FromSeconds(20));
        Received heartbeat = observer.WaitFor(m => m.Index > mark && m.Topic == Prefix + "/runtime/state" && m.Payload.Contains("\"generation\":2", StringComparison.Ordinal),
            "the heartbeat with generation 2", TimeSpan.FromSeconds(20));
        Assert.Equal(2, heartbeat.Json.GetProperty("config").GetProperty("generation").GetInt32());
        Assert.Single(ReloadApplied().Matches(host.Log));
        Assert.Equal(0, await host.StopAsync());
    }

    [Fact]
    [Trait("spec", "E-39")]
    public async Task E39_ExternalBrokerUnreachableAtStartup_RuntimeRunsOfflineThenConnectsWhenTheBrokerAppears()
    {
        // arrange: an external broker URL on a free port where nothing listens yet.
        int brokerPort = FreePort();
        int devicePort = FreePort();
        string runtime = $"  broker: mqtt://127.0.0.1:{brokerPort}\n  log_level: debug\n"
            + "  overrides: { supervision: { backoff_max_ms: 2000, probe_interval_ms: 500, probe_timeout_ms: 250 } }";
        string file = WriteAtomically(Plant(runtime, devicePort, Converter("pc-press-1", "press-1")));

        // act 1: start the host with the broker down.
        await using InProcessHost host = InProcessHost.Start(file);
        host.WaitForLog("runtime_started", TimeSpan.FromSeconds(20));
        Wait.Until(() => host.Log.Contains("breaker_opened node=devices ", StringComparison.Ordinal)
            && host.Log.Contains("breaker_opened node=assembly ", StringComparison.Ordinal), "both group breakers open", TimeSpan.FromSeconds(20));

        // assert 1: running offline; the probes target the runtime's broker URL and open the group breakers.
        Assert.False(host.Run.IsCompleted, host.Log);
        string url = $"mqtt://127.0.0.1:{brokerPort}";
        Assert.Contains($"probe_attached node=devices probe=broker-devices type=mqtt target={url}", host.Log, StringComparison.Ordinal);
        Assert.Contains($"probe_attached node=assembly probe=broker-assembly type=mqtt target={url}", host.Log, StringComparison.Ordinal);
        Assert.Matches(BreakerOpenedDisconnected(), host.Log);
        Assert.DoesNotContain("mqtt_connected client=mon", host.Log, StringComparison.Ordinal);
        int logMark = host.Log.Length;

        // act 2: a broker appears on that port.
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = brokerPort });
        await broker.StartAsync();
        var sinceUp = Stopwatch.StartNew();
        await using Observer observer = await Observer.ConnectAsync(brokerPort, Prefix + "/runtime/state", Prefix + "/status/#");
        Wait.Until(() => host.Log.Contains("mqtt_connected client=mon", StringComparison.Ordinal)
            && host.Log.Contains("mqtt_connected client=data", StringComparison.Ordinal), "mon and data connected", TimeSpan.FromSeconds(10));
        sinceUp.Stop();

        // assert 2: both clients within 3 s; the first runtime state is online; breakers close; every node active.
        Assert.True(sinceUp.Elapsed < TimeSpan.FromSeconds(3), $"clients connected {sinceUp.Elapsed} after the broker came up");
        Received first = observer.WaitFor(m => m.Topic == Prefix + "/runtime/state", "a runtime state", TimeSpan.FromSeconds(10));
        Assert.Equal("online", first.State);
        Wait.Until(() => host.Log.IndexOf("breaker_closed node=devices ", logMark, StringComparison.Ordinal) >= 0
            && host.Log.IndexOf("breaker_closed node=assembly ", logMark, StringComparison.Ordinal) >= 0, "both group breakers closed", TimeSpan.FromSeconds(20));
        foreach (string node in (string[])["devices", "devices/sim-press-1", "assembly", "assembly/pc-press-1", "assembly/pc-press-1/connection",
            "assembly/pc-press-1/source", "assembly/pc-press-1/sink"])
        {
            observer.WaitFor(m => Status(m, node, Active), "active status of " + node, TimeSpan.FromSeconds(20));
        }

        Assert.Equal(0, await host.StopAsync());
    }

    [GeneratedRegex(@"config_reload_applied file=\S+ generation=(?<generation>\d+) added=(?<added>\d+) updated=(?<updated>\d+) replaced=\d+ removed=(?<removed>\d+)")]
    private static partial Regex ReloadApplied();

    [GeneratedRegex(@"node_added node=(\S+) ")]
    private static partial Regex NodeAdded();

    [GeneratedRegex(@"breaker_opened node=(devices|assembly) [^\n]*causes=[^\n]*ProbeFailed\(broker-(devices|assembly)\)")]
    private static partial Regex BreakerOpenedDisconnected();
}
