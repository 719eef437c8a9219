using System.Globalization;
using System.Text.RegularExpressions;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Tests.Performance;

/// <summary>
/// 70-performance §12 PF-21: the committed <c>TickBenchmarks</c> reference report (§6 "Results") carries the side-by-side
/// actor peers of §7, the Akka.NET and Proto.Actor tree round trips, at every N it reports the W1 tick for; a peer that
/// could not run appears as a "skipped" note with its reason instead (§7: never dropped silently).
/// </summary>
public sealed class CommittedTickPeerResultsTests
{
    private const string Report = "perf/results/bench/x64-epyc-2vcpu/Fsm2.Edge.Benchmarks.Supervision.TickBenchmarks-report-github.md";

    [Theory]
    [Trait("spec", "PF-21")]
    [InlineData("Akka.NET", "AkkaTreeRoundTrip")]
    [InlineData("Proto.Actor", "ProtoActorTreeRoundTrip")]
    public void PF21_CommittedTickBenchmarksReport_HasPeerRowsAtEveryTreeSizeOrSkippedNoteWithReason(string peer, string method)
    {
        // arrange
        string text = File.ReadAllText(Path.Combine(RepositoryPaths.Root(), Report));
        string[][] rows = MarkdownRows(text);
        string[] header = Assert.Single(rows, r => r[0] == "Method");
        int n = Array.IndexOf(header, "N");
        int mean = Array.IndexOf(header, "Mean");
        Assert.True(n > 0 && mean > 0, "the report table has no N or Mean column");
        string[] treeSizes = [.. rows.Where(r => r[0] == "SteadyQuiescent").Select(r => r[n])];
        Assert.NotEmpty(treeSizes);

        // act
        string[][] peerRows = [.. rows.Where(r => r[0] == method)];
        Match skipped = Regex.Match(
            text,
            $@"^.*{Regex.Escape(peer)}\b.*\bskipped\b\W*(?<reason>\w.{{9,}})$",
            RegexOptions.Multiline | RegexOptions.IgnoreCase,
            TimeSpan.FromSeconds(1));

        // assert: either a skip note with a reason of at least ten characters, or one timed row per W1 tree size.
        if (skipped.Success)
        {
            Assert.False(string.IsNullOrWhiteSpace(skipped.Groups["reason"].Value), $"{peer}: skipped without a reason");
            return;
        }

        Assert.True(peerRows.Length > 0, $"{peer}: no '{method}' row and no '{peer} ... skipped: <reason>' note in {Report}");
        Assert.Equal(treeSizes.Order(StringComparer.Ordinal), peerRows.Select(r => r[n]).Order(StringComparer.Ordinal));
        Assert.All(peerRows, r => Assert.True(Nanoseconds(r[mean]) > 0, $"{peer} N = {r[n]}: mean '{r[mean]}'"));
    }

    /// <summary>The cells of every Markdown table row (bold markers removed), separator and empty rows skipped.</summary>
    private static string[][] MarkdownRows(string text)
        => [.. text.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith('|') && !l.StartsWith("|--", StringComparison.Ordinal))
            .Select(l => l.Replace("**", "", StringComparison.Ordinal).Split('|', StringSplitOptions.TrimEntries)[1..^1])
            .Where(c => c.Length > 0 && c[0].Length > 0 && !c[0].StartsWith('-') && !c[0].StartsWith(':'))];

    private static double Nanoseconds(string cell)
    {
        string[] parts = cell.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, parts.Length);
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
