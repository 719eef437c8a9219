using System.Globalization;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Tests.Execution;

/// <summary>
/// A-12 is about committed evidence: the BenchmarkDotNet report of the ring against the bounded-channel baseline must
/// be in the repository with the rows the spec names. This reads the committed report and checks them.
/// </summary>
public sealed class CommittedBenchmarkResultsTests
{
    private const string Report = "perf/results/bench/x64-epyc-2vcpu/short-job-1-8-threads/Fsm2.Edge.Benchmarks.Execution.RingBenchmarks-report-github.md";

    [Fact]
    [Trait("spec", "A-12")]
    public void A12_RingAndChannelSideBySide_PairAndOneProducerWith1248Consumers_Ring0BytesPairRatioAtMost1()
    {
        // arrange
        string[] rows = [.. File.ReadAllLines(Path.Combine(RepositoryPaths.Root(), Report))
            .Where(l => l.StartsWith('|') && !l.StartsWith("| Method", StringComparison.Ordinal) && !l.StartsWith("|--", StringComparison.Ordinal))
            .Select(l => l.Replace("**", "", StringComparison.Ordinal))];
        string[][] cells = [.. rows.Select(r => r.Split('|', StringSplitOptions.TrimEntries)[1..^1]).Where(c => c[0].Length > 0)];

        // act
        string[] Row(string method, int consumers) => Assert.Single(cells, c => c[0] == method && c[2] == consumers.ToString(CultureInfo.InvariantCulture));
        static double Nanoseconds(string mean) => double.Parse(mean.Replace(" ns", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);

        // assert: the hand-off rows at 1, 2, 4 and 8 consumers for both, the ring allocating nothing.
        foreach (int consumers in new[] { 1, 2, 4, 8 })
        {
            Assert.Equal("-", Row("CrossThreadHandOff", consumers)[8]);
            Assert.NotNull(Row("ChannelCrossThreadHandOff", consumers));
        }

        // the single-thread pair: ring 0 B, and its time at most the channel's.
        string[] ring = Row("EnqueueDequeuePair", 1);
        string[] channel = Row("ChannelWriteReadPair", 1);
        Assert.Equal("-", ring[8]);
        Assert.True(Nanoseconds(ring[3]) <= Nanoseconds(channel[3]), $"ring pair {ring[3]} vs channel {channel[3]}");
    }
}
