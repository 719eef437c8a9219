using System.Globalization;
using Fsm2.Edge.Config;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Workers.Tests.Calibration;

/// <summary>Runs alone: the calibration counts gen-2 collections process-wide.</summary>
[CollectionDefinition(nameof(CalibrationGroup), DisableParallelization = true)]
public sealed class CalibrationGroup;

/// <summary>
/// The calibration engine (50-runtime-monitoring §11.3): the rules and verdicts as a pure function, and one small real
/// run in-process.
/// </summary>
[Collection(nameof(CalibrationGroup))]
public sealed class CalibrationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-calib-w-" + Guid.NewGuid().ToString("N"));

    public CalibrationTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Judge_EveryRuleWithinItsLimit_PassOrMarginalAt80PercentOfTheBudget()
    {
        // arrange: interval 100 ms, p99 budget 500 µs, max 5 ms.
        HardwareProfile profile = Profile("judge", intervalMs: 100, p99Us: 500, maxUs: 5000);
        CalibrationMeasurements pass = Measured(steadyP99: 400, steadyMax: 4000, changeP99: 25_000, latenessP99: 10_000);
        CalibrationMeasurements marginal = pass with { Steady = new LatencySummary(100, 300, 350, 401, 4000) };

        // act
        IReadOnlyList<CalibrationRule> passRules = CalibrationJudge.Rules(profile, pass);
        IReadOnlyList<CalibrationRule> marginalRules = CalibrationJudge.Rules(profile, marginal);

        // assert: limits are inclusive; 400 µs is exactly 80 % of 500 µs (PASS), 401 µs is above it (MARGINAL).
        Assert.All(passRules, r => Assert.True(r.Passed, r.Id));
        Assert.Equal(
            ["steady_p99", "steady_max", "steady_alloc", "steady_gen2", "change_p99", "timer_lateness_p99"],
            passRules.Select(r => r.Id));
        Assert.Equal(CalibrationVerdict.Pass, CalibrationJudge.Verdict(profile, passRules, pass));
        Assert.Equal(CalibrationVerdict.Marginal, CalibrationJudge.Verdict(profile, marginalRules, marginal));
    }

    [Fact]
    public void Judge_EachViolatedRule_IsNamedAndFails_AndTheSatisfiedProfilesAreListed()
    {
        // arrange: 600 µs p99 misses a 500 µs budget; 8 B per tick; one gen-2; change and lateness over their shares.
        HardwareProfile strict = Profile("strict", intervalMs: 100, p99Us: 500, maxUs: 5000);
        HardwareProfile loose = Profile("loose", intervalMs: 1000, p99Us: 1000, maxUs: 10_000);
        CalibrationMeasurements m = Measured(steadyP99: 600, steadyMax: 4000, changeP99: 25_001, latenessP99: 10_001) with
        {
            SteadyAllocatedBytes = 8 * 100,
            SteadyGen2 = 1,
        };
        CalibrationMeasurements clean = m with { SteadyAllocatedBytes = 0, SteadyGen2 = 0 };

        // act
        IReadOnlyList<CalibrationRule> rules = CalibrationJudge.Rules(strict, m);

        // assert
        Assert.Equal(CalibrationVerdict.Fail, CalibrationJudge.Verdict(strict, rules, m));
        Assert.Equal(
            ["steady_p99", "steady_alloc", "steady_gen2", "change_p99", "timer_lateness_p99"],
            rules.Where(r => !r.Passed).Select(r => r.Id));
        Assert.Equal(8.0, rules.Single(r => r.Id == "steady_alloc").Measured);
        Assert.Empty(CalibrationJudge.Satisfied([strict, loose], m));
        Assert.Equal(["loose"], CalibrationJudge.Satisfied([strict, loose], clean));
    }

    [Fact]
    public void Calibrator_SmallW1_SteadyTicksAllocateNothing_EachChangeRendersTheLeafOnce_TimerAndRingMeasured()
    {
        // arrange: 300 workers (1 root, 3 parents, 296 leaves), 200 ticks per phase, a 2-tick timer phase at 50 ms.
        HardwareProfile profile = Profile("small", intervalMs: 50, p99Us: 50_000, maxUs: 50_000, workers: 300, ticks: 200, warmup: 100);

        // act
        CalibrationResult result = Calibrator.Run(profile, new CalibrationSettings { TimerDuration = TimeSpan.FromMilliseconds(1) }, cancellationToken: TestContext.Current.CancellationToken);

        // assert
        CalibrationMeasurements m = result.Measurements;
        Assert.Equal(300, m.Workers);
        Assert.Equal(3, m.Levels);
        Assert.True(m.WarmupTicks >= 100, $"warm-up {m.WarmupTicks}");
        Assert.Equal(200, m.Steady.Count);
        Assert.Equal(0, m.SteadyAllocatedBytes);
        Assert.Equal(20, m.Change.Count);
        Assert.Equal(20, m.ChangeRenders);
        Assert.Equal(Calibrator.MinTimerTicks, m.TimerLateness.Count);
        Assert.Equal(50, m.TimerIntervalMs);
        Assert.True(m.RingActions > 0 && m.RingEnqueue.Count > 0, $"ring: {m.RingActions} actions, {m.RingEnqueue.Count} samples");
        Assert.InRange(m.Steady.P50, double.Epsilon, m.Steady.P99);
        Assert.InRange(m.Steady.P99, m.Steady.P50, m.Steady.Max);
        Assert.Equal(Environment.ProcessorCount, result.Machine.Cores);
        Assert.Equal(6, result.Rules.Count);
    }

    [Fact]
    public async Task SyntheticWorkload_ChangeLeaf_RedrivesAndRendersOnlyTheLeafAndKeepsTheTreeRunning()
    {
        // arrange: the W1 tree for 300 nodes on the unit-test harness's fake clock, settled.
        var factory = new WorkerFactory();
        SyntheticWorkload workload = SyntheticTree.RegisterWorkload(factory, 300);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var scheduler = new Fsm2.Edge.Collection.ManualObservationScheduler(time);
        await using var runtime = new SupervisorRuntime(factory, null, time, null, scheduler);
        runtime.SetConfiguration(workload.Configuration);
        for (int i = 0; i < 20; i++)
        {
            scheduler.RunDue();
            runtime.TickOnce(TestContext.Current.CancellationToken);
        }

        long rendersBefore = runtime.Renderer.RenderCount;
        long leafRendersBefore = runtime.FindNode(workload.ChangingLeafPath!)!.TemplateRenderCount;

        // act: two changes, each applied by one tick.
        for (int i = 0; i < 2; i++)
        {
            runtime.SetConfiguration(workload.ChangeLeaf());
            runtime.TickOnce(TestContext.Current.CancellationToken);
        }

        // assert: the leaf rendered once per change, the parent's literal config at most once per change, the rest never.
        SupervisorNode leaf = runtime.FindNode("p0/w0")!;
        Assert.Equal(leafRendersBefore + 2, leaf.TemplateRenderCount);
        Assert.InRange(runtime.Renderer.RenderCount - rendersBefore, 2, 4);
        Assert.Equal(299, runtime.LiveWorkerCount);
        Assert.All(runtime.Status.Nodes, n => Assert.Equal("running", n.State));
        Assert.Equal(2, workload.Revision);
    }

    private static CalibrationMeasurements Measured(double steadyP99, double steadyMax, double changeP99, double latenessP99) => new()
    {
        Workers = 1000,
        Levels = 3,
        Ticks = 100,
        WarmupTicks = 100,
        Steady = new LatencySummary(100, steadyP99 / 2, steadyP99 * 0.9, steadyP99, steadyMax),
        SteadyAllocatedBytes = 0,
        SteadyGen0 = 0,
        SteadyGen1 = 0,
        SteadyGen2 = 0,
        Change = new LatencySummary(10, changeP99 / 2, changeP99, changeP99, changeP99),
        ChangeRenders = 10,
        TimerLateness = new LatencySummary(10, latenessP99 / 2, latenessP99, latenessP99, latenessP99),
        TimerIntervalMs = 100,
        RingEnqueue = LatencySummary.Empty,
        RingActions = 0,
        RequestedPriority = "Normal",
        AppliedPriority = "Normal",
    };

    private HardwareProfile Profile(string name, int intervalMs, int p99Us, int maxUs, int workers = 1000, int ticks = 2000, int warmup = 200)
    {
        string json = """
            {
              "name": "NAME",
              "description": "calibration test profile",
              "arch": "x64",
              "tick": { "interval_ms": INTERVAL, "budget_p99_us": P99, "budget_max_us": MAX, "thread_priority": "Normal" },
              "actions": { "threads": 2, "ring_capacity": 256, "default_timeout_ms": 30000, "shutdown_timeout_ms": 2000 },
              "observation": { "interval_ms": 1000, "timeout_ms": 2200, "stale_ms": 10000, "collector_timeout_ms": 20000,
                               "max_collector_restarts": 3, "collector_restart_step_ms": 2000 },
              "supervision": { "backoff_base_ms": 1000, "backoff_max_ms": 60000, "jitter": 0.2, "stability_window_ms": 60000,
                               "probe_interval_ms": 2000, "probe_timeout_ms": 1000, "probe_miss_threshold": 3,
                               "removal_timeout_ms": 30000, "max_depth": 10 },
              "metrics": { "interval_ms": 10000, "node_labels": true },
              "status": { "min_interval_ms": 1000, "refresh_interval_ms": 30000, "heartbeat_ms": 10000 },
              "shutdown": { "budget_ms": 8000 },
              "broker": { "max_pending_messages_per_client": 1000 },
              "flows": { "buffer_capacity": 1000 },
              "gc": { "server": false, "concurrent": true, "heap_hard_limit_mb": 0, "conserve_memory": 0, "env": {} },
              "calibration": { "workers": WORKERS, "ticks": TICKS, "warmup_ticks": WARMUP }
            }
            """;
        json = json.Replace("NAME", name, StringComparison.Ordinal)
            .Replace("INTERVAL", I(intervalMs), StringComparison.Ordinal)
            .Replace("P99", I(p99Us), StringComparison.Ordinal)
            .Replace("MAX", I(maxUs), StringComparison.Ordinal)
            .Replace("WORKERS", I(workers), StringComparison.Ordinal)
            .Replace("TICKS", I(ticks), StringComparison.Ordinal)
            .Replace("WARMUP", I(warmup), StringComparison.Ordinal);
        string path = Path.Combine(_dir, name + ".json");
        File.WriteAllText(path, json);
        ProfileLoadResult loaded = HardwareProfileLoader.LoadFile(path);
        Assert.True(loaded.Succeeded, string.Join("; ", loaded.Findings));
        return loaded.Profile;

        static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
