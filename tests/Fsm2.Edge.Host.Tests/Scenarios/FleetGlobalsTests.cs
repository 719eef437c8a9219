using System.Text.Json;
using Fsm2.Edge.Host.Tests.TestSupport;
using Fsm2.Edge.Mqtt.Broker;

namespace Fsm2.Edge.Host.Tests.Scenarios;

/// <summary>
/// Fleet Global variables (50-runtime-monitoring §6.6, §12, §2.4 step 5): runtimes on one broker share the retained
/// fleet topic; an invalid payload is rejected everywhere and the last good value stays; clearing returns to the file.
/// </summary>
public sealed class FleetGlobalsTests : IDisposable
{
    private const string Template = "{{ global.uns_version }}";
    private const string FleetTopic = "fsm2/fleet/plant-1/global";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-fleet-" + Guid.NewGuid().ToString("N"));

    public FleetGlobalsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string id, string area, int port, string wait)
    {
        string path = Path.Combine(_dir, id + ".yaml");
        File.WriteAllText(path, $$"""
            runtime:
              id: {{id}}
              profile: x64-server
              broker: mqtt://127.0.0.1:{{port}}
              location: { enterprise: acme, site: plant-1, area: {{area}} }
              fleet: { name: plant-1, wait_for_global: {{wait}} }
              heartbeat_interval: 1s
            global: { uns_version: v1 }
            workers:
              - type: device-simulator
                name: line-1
                config: |
                  device: "line-{{Template}}"
                  interval: 1s
                  tags: [ { name: speed, kind: constant, value: 1 } ]
            """);
        return path;
    }

    private static Func<Received, bool> Heartbeat(string id, string source, long? version = null) => m =>
        m.Topic == $"fsm2/{id}/runtime/state" && m.State == "online"
        && m.Json.TryGetProperty("global", out JsonElement g)
        && g.GetProperty("source").GetString() == source
        && (version is null || (g.TryGetProperty("version", out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.GetInt64() == version));

    [Fact]
    [Trait("spec", "E-20")]
    public async Task E20_TwoRuntimesShareFleetGlobals_ChangeReRendersBoth_InvalidRejected_ClearReturnsToFile()
    {
        // arrange: one broker, gw-a and gw-b, the fleet topic empty.
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        await broker.StartAsync();
        await using Observer observer = await Observer.ConnectAsync(broker.Port, "fsm2/+/runtime/state", "fsm2/+/status/#");
        await using InProcessHost a = InProcessHost.Start(Write("gw-a", "area-a", broker.Port, "200ms"));
        await using InProcessHost b = InProcessHost.Start(Write("gw-b", "area-b", broker.Port, "200ms"));
        observer.WaitFor(Heartbeat("gw-a", "file"), "gw-a online with file Globals");
        observer.WaitFor(Heartbeat("gw-b", "file"), "gw-b online with file Globals");

        // act 1: publish v2, retained
        await observer.PublishAsync(FleetTopic, """{"version":1,"variables":{"uns_version":"v2"},"publishedBy":"ops"}""", retain: true);

        // assert 1: both apply it within 2 s, re-derive with the new value, and re-create nothing.
        foreach ((string id, InProcessHost host) in (ReadOnlySpan<(string, InProcessHost)>)[("gw-a", a), ("gw-b", b)])
        {
            observer.WaitFor(Heartbeat(id, "mqtt", 1), id + " heartbeat global mqtt/1", TimeSpan.FromSeconds(2));
            host.WaitForLog("global_variables_updated source=mqtt version=1 changed_keys=uns_version");
            Assert.Single(Occurrences(host.Log, "node_added node=line-1 "));
        }

        // act 2: a third runtime starts after the publication
        await using InProcessHost c = InProcessHost.Start(Write("gw-c", "area-c", broker.Port, "5s"));
        c.WaitForLog("runtime_started");

        // assert 2: it waited for the retained value before starting the tree
        string cLog = c.Log;
        Assert.Contains("fleet_global_wait_ended topic=fsm2/fleet/plant-1/global received=True", cLog, StringComparison.Ordinal);
        Assert.True(cLog.IndexOf("fleet_global_wait_ended", StringComparison.Ordinal) < cLog.IndexOf("runtime_started", StringComparison.Ordinal));
        observer.WaitFor(Heartbeat("gw-c", "mqtt", 1), "gw-c heartbeat global mqtt/1");

        // act 3: an invalid payload
        int mark = observer.Messages.Count;
        await observer.PublishAsync(FleetTopic, """{"variables":{"bad-key":1}}""", retain: true);

        // assert 3: rejected on all three; the last good value stays
        foreach (InProcessHost host in (ReadOnlySpan<InProcessHost>)[a, b, c])
        {
            host.WaitForLog("global_update_rejected source=mqtt");
        }

        foreach (string id in (ReadOnlySpan<string>)["gw-a", "gw-b", "gw-c"])
        {
            observer.WaitFor(m => m.Index > mark && Heartbeat(id, "mqtt", 1)(m), id + " still on mqtt/1 after the rejection");
        }

        // act 4: clear the topic
        await observer.PublishAsync(FleetTopic, "", retain: true);

        // assert 4: all three return to the file value
        foreach ((string id, InProcessHost host) in (ReadOnlySpan<(string, InProcessHost)>)[("gw-a", a), ("gw-b", b), ("gw-c", c)])
        {
            observer.WaitFor(Heartbeat(id, "file"), id + " back on file Globals", TimeSpan.FromSeconds(3));
            host.WaitForLog("global_variables_updated source=mqtt version= changed_keys=uns_version");
            Assert.Single(Occurrences(host.Log, "node_added node=line-1 "));
        }

        // statuses stay under each runtime's own prefix
        Assert.All(observer.Messages.Where(m => m.Topic.Contains("/status/", StringComparison.Ordinal)),
            m => Assert.Matches(@"^fsm2/gw-[abc]/status/line-1(/|$)", m.Topic));
        Assert.Equal(0, await a.StopAsync());
        Assert.Equal(0, await b.StopAsync());
        Assert.Equal(0, await c.StopAsync());
    }

    private static string[] Occurrences(string log, string text) =>
        [.. log.Split('\n').Where(line => line.Contains(text, StringComparison.Ordinal))];
}
