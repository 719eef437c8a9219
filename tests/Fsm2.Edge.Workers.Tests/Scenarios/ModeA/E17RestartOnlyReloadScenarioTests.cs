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
        var options = new PlantOptions(ConfigRuntime.FreePort(), ConfigRuntime.FreePort());
        int devicePort3 = ConfigRuntime.FreePort();
        string plant = ScenarioYaml.Plant(options);
        await using var host = new EdgeTestHost(ScenarioYaml.WithoutConverters(plant));
        host.Start();
        Assert.Equal(ConfigReloadKind.Applied, host.Reload(plant).Kind);
        await host.AdvanceAsync(TimeSpan.FromSeconds(15));
        long generation = host.Watcher.Generation;
        int mark = host.Logs.GetSnapshot().Count;

        // act
        ConfigReloadOutcome outcome = host.Reload(ScenarioYaml.Plant(options with
        {
            Broker = "mqtt://127.0.0.1:1",
            MetricsInterval = "5s",
            ExtraDevices = ScenarioYaml.Simulator("sim-press-3", "press-3", devicePort3, temperatureOnly: true),
        }));
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
}
