using System.Globalization;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Tests.Performance;

/// <summary>
/// 70-performance §12 acceptance behaviours about committed reference evidence (§6 "Results"): these read the reports
/// under perf/results/bench/x64-epyc-2vcpu/ and check the figures the spec names, as A-12's test does
/// (Execution/CommittedBenchmarkResultsTests). A new reference run that misses a gate makes them fail.
/// </summary>
public sealed class CommittedPerformanceResultsTests
{
    private const string Machine = "perf/results/bench/x64-epyc-2vcpu/";

    [Theory]
    [Trait("spec", "PF-05")]
    [InlineData("Fsm2.Edge.Benchmarks.Execution.RingBenchmarks-report-github.md", "DefaultJob")]
    [InlineData("short-job-1-8-threads/Fsm2.Edge.Benchmarks.Execution.RingBenchmarks-report-github.md", "ShortRun")]
    public void PF05_RingBenchmarks_RingPairAtMost1xTheBoundedChannelPair_Ring0Bytes(string report, string job)
    {
        // arrange
        string text = File.ReadAllText(Path.Combine(RepositoryPaths.Root(), Machine, report));
        string[][] rows = MarkdownRows(text);
        string[] header = Assert.Single(rows, r => r[0] == "Method");
        int mean = Array.IndexOf(header, "Mean");
        int allocated = Array.IndexOf(header, "Allocated");

        // act: the single-thread pairs, ring (baseline) and bounded Channel<T> (TryWrite + TryRead), from one run.
        string[] ring = Assert.Single(rows, r => r[0] == "EnqueueDequeuePair");
        string[] channel = Assert.Single(rows, r => r[0] == "ChannelWriteReadPair");
        double ratio = Nanoseconds(ring[mean]) / Nanoseconds(channel[mean]);

        // assert: G1, ring time / channel time <= 1.0 and the ring allocates nothing ("-").
        Assert.Contains(job, text, StringComparison.Ordinal);
        Assert.True(ratio <= 1.0, $"ring pair {ring[mean]} vs channel pair {channel[mean]}: ratio {ratio:F2}");
        Assert.Equal("-", ring[allocated]);
    }

    [Fact]
    [Trait("spec", "PF-11")]
    public void PF11_ExecutorLatency_NewestRunW6At10000ActionsOnePerMs_RingEnqueueToStartP99AtMost50Microseconds()
    {
        // arrange: ExecutorLatency.md keeps the newest run first; its first table is W6 (enqueue-to-start).
        string text = File.ReadAllText(Path.Combine(RepositoryPaths.Root(), Machine, "ExecutorLatency.md"));
        int start = text.IndexOf("\n## Run", StringComparison.Ordinal);
        Assert.True(start >= 0, "no '## Run' section");
        int end = text.IndexOf("\n### ", start, StringComparison.Ordinal);
        string run = text[start..(end < 0 ? text.Length : end)];

        // act
        string[][] rows = MarkdownRows(run);
        string[] header = Assert.Single(rows, r => r[0] == "Executor");
        int p99 = Array.IndexOf(header, "enqueue-to-start p99");
        string[][] ring = [.. rows.Where(r => r[0] == "Ring")];

        // assert: W6 conditions (10,000 samples, one action per ~1 ms, threads parked), then B5 on every ring row.
        Assert.Contains("10000 samples per row", run, StringComparison.Ordinal);
        Assert.Contains("one trivial synchronous action per ~1 ms", run, StringComparison.Ordinal);
        Assert.Contains("action threads parked in between", run, StringComparison.Ordinal);
        Assert.True(p99 > 0, "no 'enqueue-to-start p99' column");
        Assert.NotEmpty(ring);
        Assert.All(ring, r => Assert.True(
            double.Parse(r[p99], CultureInfo.InvariantCulture) <= 50,
            $"ring with {r[1]} threads: enqueue-to-start p99 {r[p99]} µs"));
    }

    /// <summary>The cells of every Markdown table row (bold markers removed), separator and empty rows skipped.</summary>
    private static string[][] MarkdownRows(string text)
        => [.. text.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith('|') && !l.StartsWith("|--", StringComparison.Ordinal) && !l.StartsWith("|---", StringComparison.Ordinal))
            .Select(l => l.Replace("**", "", StringComparison.Ordinal).Split('|', StringSplitOptions.TrimEntries)[1..^1])
            .Where(c => c.Length > 0 && c[0].Length > 0 && !c[0].StartsWith('-') && !c[0].StartsWith(':'))];

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
