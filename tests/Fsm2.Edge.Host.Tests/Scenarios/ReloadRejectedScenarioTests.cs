using System.Text.Json;
using System.Text.RegularExpressions;
using Fsm2.Edge.Host.Tests.TestSupport;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.Scenarios;

/// <summary>
/// E-16 (60-scenarios; 50-runtime-monitoring §3.8, §4, §6.2): PLANT run by the host in-process with the file watcher
/// and its embedded broker on a free port; invalid saves leave the last good config running and are reported in the
/// log, on the heartbeat and in <c>fsm2_config_reload_total</c>; a later valid save applies and clears the error.
/// </summary>
public sealed partial class ReloadRejectedScenarioTests : IDisposable
{
    private const string RuntimeState = Plant.Prefix + "/runtime/state";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-reject-" + Guid.NewGuid().ToString("N"));

    public ReloadRejectedScenarioTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File => Path.Combine(_dir, "plant.yaml");

    // Editors and ConfigMaps replace the file; the test writes a temp file and renames it over the original.
    private void Save(string yaml)
    {
        string temp = Path.Combine(_dir, ".plant.yaml.tmp");
        System.IO.File.WriteAllText(temp, yaml);
        System.IO.File.Move(temp, File, overwrite: true);
    }

    private static JsonElement Config(Received heartbeat) => heartbeat.Json.GetProperty("config");

    private static long RejectedTotal(Received metrics)
    {
        foreach (JsonElement series in metrics.Json.GetProperty("metrics").EnumerateArray())
        {
            if (series.GetProperty("name").GetString() == "fsm2_config_reload_total"
                && series.TryGetProperty("tags", out JsonElement tags) && tags.GetProperty("result").GetString() == "rejected")
            {
                return series.GetProperty("value").GetInt64();
            }
        }

        return 0;
    }

    // Consecutive UNS1 temperature samples (by their timestamps) never miss a simulator interval.
    private static void AssertNoUnsGap(Observer observer, TimeSpan interval)
    {
        long[] stamps = [.. observer.On(Plant.Uns1 + "temperature").Select(m => m.Json.GetProperty("timestamp_ms").GetInt64())];
        Assert.True(stamps.Length >= 3, $"{stamps.Length} UNS1 temperature messages");
        for (int i = 1; i < stamps.Length; i++)
        {
            long gap = stamps[i] - stamps[i - 1];
            Assert.True(gap < interval.TotalMilliseconds * 1.5, $"UNS1 gap of {gap} ms before message {i}");
        }
    }

    [Fact]
    [Trait("spec", "E-16")]
    public async Task E16_HotReloadWithInvalidFiles_LastGoodKeepsRunningErrorReportedThenValidSaveApplies()
    {
        // arrange: PLANT running; heartbeat and metrics every second; the config category at Debug for 'unchanged'.
        int devicePort = Plant.FreePort();
        const string Runtime = "  heartbeat_interval: 1s\n  log_levels: { Fsm2.Edge.Config: debug }";
        int port2 = Plant.FreePort();
        string plant = Plant.Text(0, devicePort, port2, profile: "x64-gateway", runtimeExtra: Runtime, metricsInterval: "1s");
        Save(plant);
        await using InProcessHost host = InProcessHost.Start(File, watch: true);
        await using Observer observer = await Observer.ConnectAsync(host.BrokerPort(), Plant.Prefix + "/status/#", RuntimeState, Plant.Prefix + "/metrics", Plant.Uns1 + "#");
        foreach (string node in (string[])["devices/sim-press-1", "assembly/pc-press-1/source", "assembly/pc-press-1/sink"])
        {
            observer.WaitFor(m => m.Topic == $"{Plant.Prefix}/status/{node}" && m.State == "active", node + " active", TimeSpan.FromSeconds(30));
        }

        observer.WaitFor(m => m.Topic.StartsWith(Plant.Uns1, StringComparison.Ordinal), "UNS1 traffic");
        int logMark = host.Log.Length;
        int mark = observer.Messages.Count;

        // act (1): a YAML syntax error.
        Save(plant.Replace("  uns_version: v1\n", "  uns_version: [v1\n", StringComparison.Ordinal));
        host.WaitForLog("config_reload_rejected", TimeSpan.FromSeconds(15));
        Received first = observer.WaitFor(m => m.Index > mark && m.Topic == RuntimeState && Config(m).GetProperty("rejectedHash").ValueKind == JsonValueKind.String,
            "a heartbeat with the rejected hash", TimeSpan.FromSeconds(10));

        // act (2): valid YAML with an unknown type and a runtime location without enterprise.
        Save(plant.Replace("  location: { enterprise: acme, site: plant-1 }\n", "  location: { site: plant-1 }\n", StringComparison.Ordinal)
            .Replace("      - type: protocol-converter\n        name: pc-press-2\n", "      - type: nosuch\n        name: pc-press-2\n", StringComparison.Ordinal));
        Wait.Until(() => Rejections(host.Log).Count == 2, "the second rejection", TimeSpan.FromSeconds(15));
        Received second = observer.WaitFor(m => m.Index > first.Index && m.Topic == RuntimeState && Config(m).GetProperty("lastError").GetString() is { } e
            && e.Contains("FSM2CFG012", StringComparison.Ordinal), "a heartbeat with the second error", TimeSpan.FromSeconds(10));
        Received metrics = observer.WaitFor(m => m.Index > second.Index && m.Topic == Plant.Prefix + "/metrics" && RejectedTotal(m) == 2,
            "fsm2_config_reload_total{result=rejected} = 2", TimeSpan.FromSeconds(10));

        // assert (1) and (2): each rejection lists its findings with file, line and field path.
        List<string> rejections = Rejections(host.Log);
        Assert.Equal(2, rejections.Count);
        Assert.Matches(Finding("FSM2CFG002"), rejections[0]);
        Assert.Matches(Finding("FSM2CFG012"), rejections[1]);
        Assert.Matches(Finding("FSM2CFG022"), rejections[1]);
        Assert.Contains("workers[assembly].children[pc-press-2].type", rejections[1], StringComparison.Ordinal);
        Assert.All(rejections, r => Assert.StartsWith("error", r, StringComparison.Ordinal));

        // no node added, removed or changing state; UNS1 traffic continues; the heartbeat keeps generation 1.
        string during = host.Log[logMark..];
        Assert.DoesNotContain("node_added", during, StringComparison.Ordinal);
        Assert.DoesNotContain("node_removed", during, StringComparison.Ordinal);
        Assert.DoesNotContain("state_transition", during, StringComparison.Ordinal);
        Assert.DoesNotContain(observer.Messages, m => m.Index > mark && m.Topic.StartsWith(Plant.Prefix + "/status/", StringComparison.Ordinal) && m.State != "active" && m.State != "stopped");
        observer.WaitFor(m => m.Index > metrics.Index && m.Topic == Plant.Uns1 + "temperature", "UNS1 traffic after both rejections");
        AssertNoUnsGap(observer, TimeSpan.FromSeconds(1));
        foreach (Received heartbeat in (Received[])[first, second])
        {
            Assert.Equal(1, Config(heartbeat).GetProperty("generation").GetInt32());
            Assert.NotEqual(Config(heartbeat).GetProperty("hash").GetString(), Config(heartbeat).GetProperty("rejectedHash").GetString());
        }

        Assert.Contains("FSM2CFG002", Config(first).GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.NotEqual(Config(first).GetProperty("rejectedHash").GetString(), Config(second).GetProperty("rejectedHash").GetString());

        // act (3): truncate to 0 bytes, then the corrected PLANT right after (well within 100 ms).
        int beforeThird = host.Log.Length;
        System.IO.File.WriteAllText(File, "");
        System.IO.File.WriteAllText(File, plant);
        Wait.Until(() => Outcomes(host.Log[beforeThird..]).Count >= 1, "the outcome of the corrected save", TimeSpan.FromSeconds(15));

        // act (4): a valid change (pc-press-2's port).
        int beforeFourth = host.Log.Length;
        string changed = plant.Replace($"PORT: {port2} }}", $"PORT: {(port2 == 65535 ? port2 - 1 : port2 + 1)} }}", StringComparison.Ordinal);
        Assert.NotEqual(plant, changed);
        Save(changed);
        Wait.Until(() => host.Log[beforeFourth..].Contains("config_reload_applied", StringComparison.Ordinal), "the fourth save applied", TimeSpan.FromSeconds(15));
        Received cleared = observer.WaitFor(m => m.Index > metrics.Index && m.Topic == RuntimeState && m.State == "online"
            && Config(m).GetProperty("rejectedHash").ValueKind == JsonValueKind.Null && Config(m).GetProperty("generation").GetInt32() >= 2,
            "a heartbeat with the error cleared", TimeSpan.FromSeconds(10));

        // assert (3): exactly one outcome, applied or unchanged, and no rejection.
        List<string> third = Outcomes(host.Log[beforeThird..beforeFourth]);
        Assert.Single(third);
        Assert.DoesNotContain("config_reload_rejected", third[0], StringComparison.Ordinal);
        Assert.Equal(2, Rejections(host.Log).Count);

        // assert (4): applied; the heartbeat's rejectedHash and lastError are null again.
        Assert.Equal(JsonValueKind.Null, Config(cleared).GetProperty("lastError").ValueKind);
        Assert.Equal(0, await host.StopAsync());
    }

    private static List<string> Rejections(string log) =>
        [.. log.Split('\n').Where(l => l.Contains("config_reload_rejected", StringComparison.Ordinal))];

    private static List<string> Outcomes(string log) =>
        [.. log.Split('\n').Where(l => l.Contains("config_reload_applied", StringComparison.Ordinal) || l.Contains("config_reload_unchanged", StringComparison.Ordinal)
            || l.Contains("config_reload_rejected", StringComparison.Ordinal))];

    // A finding with file, line, column, code and field path.
    private static Regex Finding(string code) => new(@"plant\.yaml:\d+:\d+: error " + code + @": (\S+: )?", RegexOptions.None, TimeSpan.FromSeconds(1));
}
