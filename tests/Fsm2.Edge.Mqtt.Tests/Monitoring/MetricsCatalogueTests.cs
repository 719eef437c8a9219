using System.Text.Json;
using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>
/// E-30 (metrics export completeness) on the in-memory double: a run that starts workers through actions, opens a
/// breaker on a refused probe, removes a node and drains the runtime, then the catalogue metrics those stimuli move are
/// found in the JSON snapshots with their declared type (shared/spec/50-runtime-monitoring.md §6.4, §8.2).
/// </summary>
public sealed class MetricsCatalogueTests
{
    // Metrics of §8.2 marked "now" that this run exercises, with their declared type.
    private static readonly (string Name, string Type)[] s_exercised =
    [
        ("fsm2_tick_total", "counter"),
        ("fsm2_tick_duration_seconds", "histogram"),
        ("fsm2_nodes", "gauge"),
        ("fsm2_hierarchy_depth", "gauge"),
        ("fsm2_children", "gauge"),
        ("fsm2_state_transitions_total", "counter"),
        ("fsm2_state_seconds", "gauge"),
        ("fsm2_reconcile_operations_total", "counter"),
        ("fsm2_reconcile_duration_seconds", "histogram"),
        ("fsm2_child_removal_duration_seconds", "histogram"),
        ("fsm2_derive_total", "counter"),
        ("fsm2_config_generation", "gauge"),
        ("fsm2_observation_age_seconds", "gauge"),
        ("fsm2_breaker_state", "gauge"),
        ("fsm2_breaker_opened_total", "counter"),
        ("fsm2_probe_results_total", "counter"),
        ("fsm2_probe_healthy", "gauge"),
        ("fsm2_action_queued_total", "counter"),
        ("fsm2_action_queue_depth", "gauge"),
        ("fsm2_action_queue_wait_seconds", "histogram"),
        ("fsm2_action_duration_seconds", "histogram"),
        ("fsm2_action_threads_busy", "gauge"),
        ("fsm2_action_inflight", "gauge"),
        ("fsm2_action_threads_leaked", "gauge"),
        ("fsm2_action_duplicates_suppressed_total", "counter"),
        ("fsm2_action_backoff_deferred_total", "counter"),
        ("fsm2_process_allocated_bytes_total", "counter"),
        ("fsm2_process_gc_collections_total", "counter"),
        ("fsm2_process_working_set_bytes", "gauge"),
        ("fsm2_process_cpu_seconds_total", "counter"),
    ];

    private static readonly string[] s_histogramKeys = ["sum", "p50", "p90", "p99", "max"];

    private static readonly string[] s_treeCounts = ["degraded", "breakersOpen", "frozen", "stale"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("spec", "E-30")]
    public async Task E30_EveryExercisedCatalogueMetric_InTheSnapshot_WithItsType_CountersNeverDecrease()
    {
        // arrange: processes start stopped (start-process actions), p0 carries a refused probe (its breaker opens), b is
        // a top-level leaf that a reload removes, c a leaf that keeps running (observed in full mode).
        await using var f = new MonitoringFixture(runtimeOptions: new RuntimeOptions { ShutdownBudget = TimeSpan.FromHours(1), BreakerJitter = 0 }, startedInitially: false);
        f.Runtime.Probes.Register("refused", (spec, _) => new RefusedProbe(spec.Id));
        ChildSpec p0 = f.Top[0] with { Probes = [new ProbeSpec("refused", "p0-probe", "refused:1", TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(100))] };
        f.Runtime.SetConfiguration([p0, MonitoringFixture.Leaf("b"), MonitoringFixture.Leaf("c")]);
        f.Publisher.Start();

        // act: the stimuli, then two consecutive snapshots.
        f.TickUntil(s => s.Find("b")?.State == "running", "b to start through its action");
        f.TickUntil(s => s.Find("p0")?.Breaker.State == BreakerState.Open, "p0 to open");
        f.Runtime.SetConfiguration([p0, MonitoringFixture.Leaf("c")]);
        f.TickUntil(s => s.Find("b") is null, "b to be removed");
        f.Advance(TimeSpan.FromSeconds(1));
        JsonElement first = MonitoringFixture.Json(f.Seen.On($"{f.Prefix}/metrics")[^1]);
        f.Step();
        f.Advance(TimeSpan.FromSeconds(1));
        JsonElement second = MonitoringFixture.Json(f.Seen.On($"{f.Prefix}/metrics")[^1]);

        // assert: presence and type of every exercised metric.
        List<JsonElement> series = [.. second.GetProperty("metrics").EnumerateArray()];
        Assert.All(s_exercised, expected =>
        {
            JsonElement[] found = [.. series.Where(m => m.GetProperty("name").GetString() == expected.Name)];
            Assert.True(found.Length > 0, $"{expected.Name} missing from the snapshot");
            Assert.All(found, m => Assert.Equal(expected.Type, m.GetProperty("type").GetString()));
        });

        // assert: the counters tied to the stimuli moved, consecutive seq, counters never decrease.
        Assert.True(Value(second, "fsm2_tick_total") > 0);
        Assert.True(Value(second, "fsm2_action_queued_total") > 0);
        Assert.True(Value(second, "fsm2_breaker_opened_total") > 0);
        Assert.Equal(2, Value(second, "fsm2_hierarchy_depth")); // p0/w0: this runtime's gauge only, other runtimes' meters are skipped
        Assert.Equal(first.GetProperty("seq").GetInt64() + 1, second.GetProperty("seq").GetInt64());
        foreach (JsonElement counter in first.GetProperty("metrics").EnumerateArray().Where(m => m.GetProperty("type").GetString() == "counter"))
        {
            string key = Key(counter);
            JsonElement later = series.Single(m => Key(m) == key);
            Assert.True(later.GetProperty("value").GetDouble() >= counter.GetProperty("value").GetDouble(), key);
        }

        JsonElement ticks = series.Single(m => m.GetProperty("name").GetString() == "fsm2_tick_duration_seconds");
        Assert.True(ticks.GetProperty("count").GetInt64() > 0);
        Assert.All(s_histogramKeys, k => Assert.True(ticks.TryGetProperty(k, out _), k));

        // act: the drain's duration is reported by the final export.
        Task<ShutdownResult> drain = f.Runtime.ShutdownAsync(Ct);
        f.TickUntil(_ => drain.IsCompleted, "the drain");
        await f.Publisher.StopAsync(clean: (await drain).Clean, Ct);

        // assert
        JsonElement final = MonitoringFixture.Json(f.Seen.On($"{f.Prefix}/metrics")[^1]);
        JsonElement shutdown = final.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "fsm2_shutdown_duration_seconds");
        Assert.Equal("gauge", shutdown.GetProperty("type").GetString());
        Assert.True(shutdown.GetProperty("value").GetDouble() > 0);
    }

    [Fact]
    [Trait("spec", "E-30")]
    public async Task Heartbeat_TickP99FromTheLatestSnapshot_RingUsedAndTreeFields()
    {
        // arrange
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.Publisher.Start();
        f.TickUntilAllRunning(3);

        // act: a metrics interval with ticks, then a heartbeat.
        f.Step();
        f.Advance(TimeSpan.FromSeconds(1));
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromMilliseconds(200));

        // assert
        JsonElement heartbeat = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/runtime/state")!).RootElement;
        JsonElement tick = heartbeat.GetProperty("tick");
        Assert.Equal(JsonValueKind.Number, tick.GetProperty("p99Us").ValueKind);
        Assert.Equal(f.Runtime.TickCount, tick.GetProperty("count").GetInt64());
        Assert.Equal(0, heartbeat.GetProperty("actions").GetProperty("ringUsed").GetInt32());
        JsonElement tree = heartbeat.GetProperty("tree");
        Assert.Equal(3, tree.GetProperty("nodes").GetInt32());
        Assert.All(s_treeCounts, k => Assert.Equal(0, tree.GetProperty(k).GetInt32()));
    }

    [Fact]
    [Trait("spec", "E-30")]
    public async Task WorkerPackMeter_IsExported_OtherRuntimesMetersAreNot()
    {
        // arrange: the worker pack's meter (Fsm2.Edge.Workers), and a second runtime in the same process.
        await using var f = new MonitoringFixture();
        f.Runtime.SetConfiguration(f.Top);
        f.TickUntilAllRunning(3);
        using var pack = new System.Diagnostics.Metrics.Meter("Fsm2.Edge.Workers");
        string name = $"fsm2_flow_test_{Guid.NewGuid():N}_total";
        pack.CreateCounter<long>(name).Add(4, new KeyValuePair<string, object?>("node", "p0/w0"));
        await using var other = new SupervisorRuntime(new WorkerFactory(), new RuntimeOptions(), f.Time);
        other.TickOnce();
        f.Publisher.Start();

        // act
        f.Advance(TimeSpan.FromSeconds(1));

        // assert: the pack's series is there; the tick counter is this runtime's alone.
        JsonElement snapshot = MonitoringFixture.Json(f.Seen.On($"{f.Prefix}/metrics")[^1]);
        Assert.Equal(4, Value(snapshot, name));
        Assert.Equal(f.Runtime.TickCount, Value(snapshot, "fsm2_tick_total"));
    }

    private static double Value(JsonElement snapshot, string name) =>
        snapshot.GetProperty("metrics").EnumerateArray().Where(m => m.GetProperty("name").GetString() == name).Sum(m => m.GetProperty("value").GetDouble());

    private static string Key(JsonElement metric) =>
        metric.GetProperty("name").GetString() + (metric.TryGetProperty("tags", out JsonElement tags) ? tags.GetRawText() : "");

    /// <summary>A probe whose every run is refused, completing synchronously.</summary>
    private sealed class RefusedProbe(string id) : IInfrastructureProbe
    {
        public string Id { get; } = id;

        public TimeSpan Interval => TimeSpan.FromMilliseconds(200);

        public TimeSpan Timeout => TimeSpan.FromMilliseconds(100);

        public ValueTask<ProbeOutcome> RunAsync(CancellationToken cancellationToken) => ValueTask.FromResult(ProbeOutcome.Refused);
    }
}
