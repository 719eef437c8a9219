using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fsm2.Edge.Config;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-17 of 60-scenarios: a reload that changes a restart-only field (<c>runtime.broker</c>) together with hot ones
/// (<c>metrics_interval</c>, a new simulator). Mode A on PLANT, fake time throughout.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E17RestartOnlyReloadScenarioTests
{
    private const string Prefix = "fsm2/gw-press-hall";

    [Fact]
    [Trait("spec", "E-17")]
    public async Task E17_RestartOnlyFieldWarnsAndKeepsTheBroker_HotFieldsApply()
    {
        // arrange: the host is built on PLANT without its converters, which arrive with the first reload: EdgeTestHost's
        // per-message template lookup reads the watcher before the constructor has created it, so a converter in the
        // constructor's YAML fails its dry derive (FSM2CFG044, NullReferenceException).
        int devicePort = ConfigRuntime.FreePort();
        int devicePort2 = ConfigRuntime.FreePort();
        int devicePort3 = ConfigRuntime.FreePort();
        await using var host = new EdgeTestHost(ScenarioYaml.WithoutConverters(Plant(devicePort, devicePort2)));
        host.Start();
        Assert.Equal(ConfigReloadKind.Applied, host.Reload(Plant(devicePort, devicePort2)).Kind);
        await host.AdvanceAsync(TimeSpan.FromSeconds(15));
        long generation = host.Watcher.Generation;
        int mark = host.Logs.GetSnapshot().Count;

        // act
        ConfigReloadOutcome outcome = host.Reload(Plant(devicePort, devicePort2, broker: "mqtt://127.0.0.1:1", metricsInterval: "5s", extraDevice: $$$"""
                      - type: device-simulator
                        name: sim-press-3
                        variables: { device: press-3, device_port: {{{devicePort3}}} }
                        config: |
                          device: "{{ device }}"
                          interval: 1s
                          tcp_listen: "127.0.0.1:{{ device_port }}"
                          tags:
                            - { name: temperature, kind: sine, min: 60, max: 80, period: 60s }
                """));
        TimeSpan reloadedAt = host.Elapsed;
        var metricsAt = new List<TimeSpan>();
        int metricsSeen = host.Observer.Snapshot(t => t == Prefix + "/metrics").Count;
        await host.AdvanceAsync(TimeSpan.FromSeconds(30), () =>
        {
            int now = host.Observer.Snapshot(t => t == Prefix + "/metrics").Count;
            for (; metricsSeen < now; metricsSeen++)
            {
                metricsAt.Add(host.Elapsed);
            }
        });

        // assert: one FSM2CFG060 warning naming runtime.broker.
        Assert.Equal(ConfigReloadKind.Applied, outcome.Kind);
        Assert.Equal(["runtime.broker"], outcome.RestartRequiredFields);
        ConfigFinding warning = Assert.Single(outcome.Findings, f => f.Code == ConfigCodes.RestartRequired);
        Assert.Equal(FindingSeverity.Warning, warning.Severity);
        Assert.Contains("runtime.broker", warning.ToString(), StringComparison.Ordinal);
        FakeLogRecord logged = Assert.Single(host.Logs.GetSnapshot().Skip(mark), r => r.Id.Name == "config_restart_required");
        Assert.Contains("runtime.broker", logged.Message, StringComparison.Ordinal);

        // the clients stay connected to the original broker.
        Assert.True(host.Data.IsConnected && host.Mon.IsConnected);
        Assert.True(host.Broker.IsRunning);
        Assert.DoesNotContain(host.Logs.GetSnapshot().Skip(mark), r => r.Id.Name is "mqtt_disconnected" or "mqtt_connect_failed");

        // metrics snapshots now arrive every 5 s.
        Assert.True(metricsAt.Count >= 5, $"metrics at {string.Join(", ", metricsAt)} after the reload at {reloadedAt}");
        for (int i = 2; i < metricsAt.Count; i++)
        {
            Assert.InRange((metricsAt[i] - metricsAt[i - 1]).TotalSeconds, 4.9, 5.6);
        }

        // the new simulator exists and runs.
        Assert.Equal("active", host.State("devices/sim-press-3"));
        Assert.True(host.Observer.Snapshot(t => t.StartsWith("devices/press-3/", StringComparison.Ordinal)).Count >= 10);

        // the heartbeat shows restartRequired and the incremented generation.
        string heartbeat = host.Observer.Snapshot(t => t == Prefix + "/runtime/state").Last().Payload;
        using JsonDocument doc = JsonDocument.Parse(heartbeat);
        JsonElement config = doc.RootElement.GetProperty("config");
        Assert.True(config.GetProperty("restartRequired").GetBoolean(), heartbeat);
        Assert.Equal(generation + 1, config.GetProperty("generation").GetInt64());
        Assert.Equal(generation + 1, outcome.Generation);
    }

    // PLANT (50 §3.7) with free ports; the broker, the metrics interval and an extra simulator as the scenario needs.
    private static string Plant(int devicePort, int devicePort2, string broker = "embedded", string metricsInterval = "10s", string extraDevice = "") => $$$"""
        version: 1
        runtime:
          id: gw-press-hall
          profile: arm64-gateway
          broker: {{{broker}}}
          metrics_interval: {{{metricsInterval}}}
          location: { enterprise: acme, site: plant-1 }
        global:
          uns_version: v1
          historian: { retention_days: 30 }
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
                  interval: 1s
                  tcp_listen: "127.0.0.1:{{ device_port }}"
                  tags:
                    - { name: temperature, kind: sine, min: 60, max: 80, period: 60s }
                    - { name: pressure, kind: random, min: 1.8, max: 2.4 }
                    - { name: setpoint, kind: constant, value: 70, writable: true }
        {{{extraDevice}}}
          - type: group
            name: assembly
            location: { area: assembly }
            variables: { IP: 127.0.0.1, PORT: {{{devicePort}}} }
            probes: [ { type: mqtt, id: broker-assembly } ]
            children:
              - type: protocol-converter
                name: pc-press-1
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
              - type: protocol-converter
                name: pc-press-2
                state: stopped
                location: { line: line-a, cell: press-2 }
                variables: { device: press-2, PORT: {{{devicePort2}}} }
                config: |
                  host: "{{ IP }}"
                  port: {{ PORT }}
                  device_topic: "devices/{{ device }}/#"
        """;
}
