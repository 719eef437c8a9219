using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-32 of 60-scenarios: Global precedence and invalid fleet payloads (50 §3.3, §6.6). Mode A, fleet mode; a simulator
/// whose device name renders four Global leaves, so the name shows the effective Global in its topics.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E32GlobalPrecedenceScenarioTests
{
    private const string Sim = "devices/sim";

    [Fact]
    [Trait("spec", "E-32")]
    public async Task E32_LeafWiseMergeListsReplaced_ThreeInvalidPayloadsRejectedWithDistinctReasons_ClearRestoresFileValues()
    {
        // arrange: fleet mode, an empty fleet topic; the startup wait passes and the file values apply.
        await using var host = new EdgeTestHost(Config);
        Assert.False(await host.StartFleetAsync());
        await host.AdvanceUntilAsync(() => host.State(Sim) == "active", TimeSpan.FromSeconds(10), "sim active\n" + host.Describe());
        await host.AdvanceUntilAsync(() => Published(host, "1-2-3-1"), TimeSpan.FromSeconds(3), "1-2-3-1 publishing");
        DateTimeOffset created = host.Node(Sim).CreatedAt;

        // act 1: a leaf-wise update; the list replaces the file's list.
        await host.PublishFleetAsync("""{"version":1,"variables":{"b":{"c":20},"list":[9]}}""");
        await host.AdvanceUntilAsync(() => Published(host, "1-20-3-9"), TimeSpan.FromSeconds(5), "1-20-3-9 publishing\n" + host.Describe());

        // assert 1
        FakeLogRecord updated = Assert.Single(host.Events("global_variables_updated"), r => EdgeTestHost.Field(r, "Source") == "mqtt");
        Assert.Equal("b,list", EdgeTestHost.Field(updated, "ChangedKeys"));
        Assert.Equal(1, host.Metrics.Value("fsm2_global_updates_total", ("source", "mqtt"), ("result", "applied")));

        // act 2: three invalid payloads, each followed by 2 s.
        int mark = host.Logs.GetSnapshot().Count;
        await host.PublishFleetAsync("""{"variables":{"bad-key":1}}""");
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        await host.PublishFleetAsync("{not json");
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        await host.PublishFleetAsync("""{"variables":{"blob":""" + "\"" + new string('x', 70 * 1024) + "\"}}");
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        int published = Devices(host).Count;
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));

        // assert 2: three rejections (Error), distinct reasons; the name is unchanged and still publishing.
        FakeLogRecord[] rejected = [.. host.Logs.GetSnapshot().Skip(mark).Where(r => r.Id.Name == "global_update_rejected")];
        Assert.Equal(3, rejected.Length);
        Assert.All(rejected, r => Assert.Equal(LogLevel.Error, r.Level));
        Assert.All(rejected, r => Assert.Equal("mqtt", EdgeTestHost.Field(r, "Source")));
        string[] reasons = [.. rejected.Select(r => EdgeTestHost.Field(r, "Reason") ?? "")];
        Assert.Equal(3, reasons.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("'bad-key'", reasons[0], StringComparison.Ordinal);
        Assert.Contains("invalid JSON", reasons[1], StringComparison.Ordinal);
        Assert.Contains("exceeds 65536", reasons[2], StringComparison.Ordinal);
        Assert.Equal(3, host.Metrics.Value("fsm2_global_updates_total", ("source", "mqtt"), ("result", "rejected")));
        Assert.Equal(1, host.Metrics.Value("fsm2_global_updates_total", ("source", "mqtt"), ("result", "applied")));
        Assert.DoesNotContain(host.Logs.GetSnapshot().Skip(mark), r => r.Id.Name == "global_variables_updated");
        Assert.True(Devices(host).Count > published, "the simulator stopped publishing");
        Assert.All(Devices(host).Skip(published), m => Assert.StartsWith("devices/1-20-3-9/", m.Topic, StringComparison.Ordinal));

        // act 3: a zero-length retained message clears the fleet layer.
        await host.PublishFleetAsync("");
        await host.AdvanceUntilAsync(() => LatestDevice(host) == "1-2-3-1", TimeSpan.FromSeconds(5), "1-2-3-1 again\n" + host.Describe());

        // assert 3: back on the file values; the simulator was re-configured, never re-created.
        Assert.Equal(2, host.Metrics.Value("fsm2_global_updates_total", ("source", "mqtt"), ("result", "applied")));
        Assert.Equal(created, host.Node(Sim).CreatedAt);
        Assert.Equal(3, host.Metrics.Value("fsm2_global_updates_total", ("source", "mqtt"), ("result", "rejected")));
    }

    private static bool Published(EdgeTestHost host, string device)
        => host.Observer.Snapshot(t => t.StartsWith("devices/" + device + "/", StringComparison.Ordinal)).Count > 0;

    private static List<(string Topic, string Payload, bool Retained)> Devices(EdgeTestHost host)
        => host.Observer.Snapshot(t => t.StartsWith("devices/", StringComparison.Ordinal));

    private static string? LatestDevice(EdgeTestHost host)
        => Devices(host).LastOrDefault().Topic?.Split('/')[1];

    private const string Config = """
        version: 1
        runtime:
          id: gw-press-hall
          profile: arm64-gateway
          broker: embedded
          location: { enterprise: acme, site: plant-1 }
          fleet: { name: hall }
        global: { a: 1, b: { c: 2, d: 3 }, list: [1, 2] }
        workers:
          - type: group
            name: devices
            children:
              - type: device-simulator
                name: sim
                config: |
                  device: "{{ global.a }}-{{ global.b.c }}-{{ global.b.d }}-{{ global.list[0] }}"
                  interval: 1s
                  tags:
                    - { name: temperature, kind: constant, value: 70 }
        """;
}
