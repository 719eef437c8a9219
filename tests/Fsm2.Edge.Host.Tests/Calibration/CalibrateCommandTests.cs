using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fsm2.Edge.Host.Commands;

namespace Fsm2.Edge.Host.Tests.Calibration;

/// <summary>
/// Runs alone: the verdict counts gen-2 collections process-wide, and parallel tests' allocations or metric listeners
/// would otherwise land in the measurement.
/// </summary>
[CollectionDefinition(nameof(CalibrationGroup), DisableParallelization = true)]
public sealed class CalibrationGroup;

/// <summary>
/// <c>fsm2-edge calibrate</c> in-process (50-runtime-monitoring §11.3, M-21, E-33): profiles written to a temp
/// profiles directory make both verdicts reachable on any machine, with a small W1 and a short timer phase.
/// </summary>
[Collection(nameof(CalibrationGroup))]
public sealed class CalibrateCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-calib-" + Guid.NewGuid().ToString("N"));

    public CalibrateCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    [Trait("spec", "M-21")]
    public async Task M21_MachineMissesTheP99Budget_VerdictFailNamesTheRuleAndExits4_ReportOnlyExits0()
    {
        // arrange: x64-server as shipped, but with a 1 µs p99 budget no machine meets, and a small, short workload.
        WriteProfile("x64-server", p =>
        {
            p["tick"]!["budget_p99_us"] = 1;
            Shrink(p, workers: 200, ticks: 100, warmup: 100);
        });

        // act
        (int code, string output, _) = await Run("calibrate", "--profile", "x64-server", "--profiles-dir", _dir, "--timer-duration", "100ms");
        (int reportOnlyCode, string reportOnlyOutput, _) = await Run(
            "calibrate", "--profile", "x64-server", "--profiles-dir", _dir, "--timer-duration", "100ms", "--report-only");

        // assert
        Assert.Equal(4, code);
        Assert.Contains("VERDICT: FAIL", output, StringComparison.Ordinal);
        Assert.Contains("violated steady_p99: measured ", output, StringComparison.Ordinal);
        Assert.Contains("limit 1.0 µs", output, StringComparison.Ordinal);
        Assert.Contains("profiles these numbers satisfy:", output, StringComparison.Ordinal);
        Assert.Equal(0, reportOnlyCode);
        Assert.Contains("VERDICT: FAIL", reportOnlyOutput, StringComparison.Ordinal);
        Assert.Contains("violated steady_p99", reportOnlyOutput, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "E-33")]
    public async Task E33_GenerousBudget_PassesOrIsMarginal_Exits0_AndTheJsonCarriesTheSameNumbers()
    {
        // arrange: a 1 s interval with p99 and max budgets of a whole interval; change ≤ 250 ms, lateness ≤ 100 ms.
        WriteProfile("generous", p =>
        {
            p["tick"]!["interval_ms"] = 1000;
            p["tick"]!["budget_p99_us"] = 1_000_000;
            p["tick"]!["budget_max_us"] = 1_000_000;
            p["observation"]!["interval_ms"] = 1000;
            Shrink(p, workers: 300, ticks: 200, warmup: 100);
        });
        string json = Path.Combine(_dir, "out.json");

        // act
        (int code, string output, _) = await Run("calibrate", "--profile", "generous", "--profiles-dir", _dir, "--timer-duration", "1ms", "--json", json);

        // assert: the table and verdict line.
        Assert.Equal(0, code);
        Assert.Contains("profile  : generous (tick 1000 ms", output, StringComparison.Ordinal);
        Assert.Contains("workload : W1, 300 workers / 3 levels, 200 ticks after ", output, StringComparison.Ordinal);
        foreach (string row in (string[])["steady tick", "change tick", "timer lateness", "alloc/steady tick", "gen2 GCs", "ring enqueue"])
        {
            Assert.Contains(row, output, StringComparison.Ordinal);
        }

        Assert.Matches(@"VERDICT: (PASS|MARGINAL) \(headroom [0-9.]+x on steady p99\)", output);
        Assert.DoesNotContain("violated", output, StringComparison.Ordinal);

        // ...and the JSON: the same verdict, 0 B per steady tick, one sample per tick, one render per leaf change.
        JsonNode doc = JsonNode.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken))!;
        string verdict = doc["verdict"]!.GetValue<string>();
        Assert.Contains("VERDICT: " + verdict, output, StringComparison.Ordinal);
        Assert.Equal("generous", doc["profile"]!.GetValue<string>());
        Assert.Equal(0.0, doc["allocBytesPerSteadyTick"]!.GetValue<double>());
        Assert.Equal(0, doc["steadyGcCounts"]!["gen2"]!.GetValue<int>());
        Assert.Equal(200, doc["steadyTick"]!["samples"]!.GetValue<int>());
        Assert.Equal(20, doc["changeTick"]!["samples"]!.GetValue<int>());
        Assert.Equal(20, doc["changeRenders"]!.GetValue<long>());
        Assert.True(doc["ringActions"]!.GetValue<long>() > 0);
        Assert.Empty(doc["violations"]!.AsArray());
        Assert.Contains("generous", doc["satisfiedProfiles"]!.AsArray().Select(n => n!.GetValue<string>()));
        double p50 = doc["steadyTick"]!["p50Us"]!.GetValue<double>();
        double p99 = doc["steadyTick"]!["p99Us"]!.GetValue<double>();
        Assert.InRange(p50, double.Epsilon, p99);
    }

    [Fact]
    public async Task Calibrate_UnknownProfile_Exits2ListingTheProfiles()
    {
        // act
        (int code, _, string error) = await Run("calibrate", "--profile", "nope");

        // assert
        Assert.Equal(2, code);
        Assert.Contains("x64-server", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calibrate_BadTimerDuration_IsAUsageError()
    {
        // act
        (int code, _, string error) = await Run("calibrate", "--profile", "x64-server", "--timer-duration", "soon");

        // assert
        Assert.Equal(2, code);
        Assert.Contains("--timer-duration", error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        using var signals = new HostSignals();
        int code = await Cli.InvokeAsync(args, output, error, signals);
        return (code, output.ToString(), error.ToString());
    }

    private static void Shrink(JsonNode profile, int workers, int ticks, int warmup)
    {
        profile["calibration"]!["workers"] = workers;
        profile["calibration"]!["ticks"] = ticks;
        profile["calibration"]!["warmup_ticks"] = warmup;
    }

    /// <summary>Writes <c>{name}.json</c> into the temp profiles directory: the shipped x64-server profile, edited.</summary>
    private void WriteProfile(string name, Action<JsonNode> edit)
    {
        string shipped = Path.Combine(AppContext.BaseDirectory, "hw-profiles", "x64-server.json");
        JsonNode profile = JsonNode.Parse(File.ReadAllText(shipped))!;
        profile["name"] = name;
        edit(profile);
        File.WriteAllText(Path.Combine(_dir, name + ".json"), profile.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
