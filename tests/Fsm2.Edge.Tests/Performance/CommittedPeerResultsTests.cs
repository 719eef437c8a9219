using System.Globalization;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Tests.Performance;

/// <summary>
/// 70-performance §12 PF-06 and PF-07: gates G2 and G3 read from the committed BenchmarkDotNet reports under
/// perf/results/bench/x64-epyc-2vcpu/ (the same run holds both sides). Fsm2.Edge is each class's baseline, so the
/// peer row's <c>Ratio</c> column reads peer / Fsm2.Edge; these tests compute the gate's Fsm2.Edge / peer from the
/// <c>Mean</c> column. A new reference run that misses a gate makes them fail. CI measures the same gates on every run
/// (<c>Program --checks</c>, PeerGateChecks).
/// </summary>
public sealed class CommittedPeerResultsTests
{
    private const string Machine = "perf/results/bench/x64-epyc-2vcpu/";

    [Fact]
    [Trait("spec", "PF-06")]
    public void PF06_BreakerBenchmarks_ClosedCheckAtMostHalfOfPollyClosedExecute_ClosedCheck0Bytes()
    {
        // arrange
        (string[] header, string[][] rows) = Report("Fsm2.Edge.Benchmarks.Health.BreakerBenchmarks-report-github.md");
        int mean = Array.IndexOf(header, "Mean");
        int allocated = Array.IndexOf(header, "Allocated");

        // act: the Closed category, the breaker struct's tick against Polly.Core's no-op Execute on a closed circuit.
        string[] ours = Assert.Single(rows, r => r[0] == "ClosedCheck");
        string[] polly = Assert.Single(rows, r => r[0] == "PollyClosedExecute");
        double ratio = Nanoseconds(ours[mean]) / Nanoseconds(polly[mean]);

        // assert: G2, Fsm2.Edge / Polly <= 0.5 and the breaker allocates nothing ("-").
        Assert.True(ratio <= 0.5, $"ClosedCheck {ours[mean]} vs Polly closed Execute {polly[mean]}: ratio {ratio:F3}");
        Assert.Equal("-", ours[allocated]);
    }

    [Fact]
    [Trait("spec", "PF-07")]
    public void PF07_TransitionBenchmarks_FourStateCycleAtMostHalfOfStatelessCycle_FourStateCycle0Bytes()
    {
        // arrange
        (string[] header, string[][] rows) = Report("Fsm2.Edge.Benchmarks.Workers.TransitionBenchmarks-report-github.md");
        int mean = Array.IndexOf(header, "Mean");
        int allocated = Array.IndexOf(header, "Allocated");

        // act: four Next calls on prepared snapshots against one four-trigger Stateless cycle.
        string[] ours = Assert.Single(rows, r => r[0] == "FourStateCycle");
        string[] stateless = Assert.Single(rows, r => r[0] == "StatelessCycle");
        double ratio = Nanoseconds(ours[mean]) / Nanoseconds(stateless[mean]);

        // assert: G3, Fsm2.Edge / Stateless <= 0.5 and the cycle allocates nothing ("-").
        Assert.True(ratio <= 0.5, $"FourStateCycle {ours[mean]} vs Stateless cycle {stateless[mean]}: ratio {ratio:F3}");
        Assert.Equal("-", ours[allocated]);
    }

    /// <summary>The report's header cells and its data rows; a report without both columns fails here.</summary>
    private static (string[] Header, string[][] Rows) Report(string file)
    {
        string text = File.ReadAllText(Path.Combine(RepositoryPaths.Root(), Machine, file));
        Assert.Contains("BenchmarkDotNet", text, StringComparison.Ordinal);
        string[][] rows = [.. text.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith('|') && !l.StartsWith("|--", StringComparison.Ordinal))
            .Select(l => l.Replace("**", "", StringComparison.Ordinal).Split('|', StringSplitOptions.TrimEntries)[1..^1])
            .Where(c => c.Length > 0 && c[0].Length > 0)];
        string[] header = Assert.Single(rows, r => r[0] == "Method");
        Assert.Contains("Mean", header);
        Assert.Contains("Allocated", header);
        return (header, rows);
    }

    private static double Nanoseconds(string cell)
    {
        string[] parts = cell.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double value = double.Parse(parts[0].Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
        return parts[1] switch
        {
            "ns" => value,
            "μs" or "µs" or "us" => value * 1_000,
            "ms" => value * 1_000_000,
            _ => throw new FormatException($"unknown unit in '{cell}'"),
        };
    }
}
