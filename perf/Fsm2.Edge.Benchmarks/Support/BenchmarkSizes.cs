using System.Globalization;

namespace Fsm2.Edge.Benchmarks.Support;

/// <summary>
/// The N values of scaling classes (shared/spec/70-performance.md §6): <c>FSM2_BENCH_N</c> (comma-separated) narrows
/// the set, so CI picks a subset without code changes.
/// </summary>
public static class BenchmarkSizes
{
    /// <summary>The environment variable that overrides the default set.</summary>
    public const string Variable = "FSM2_BENCH_N";

    // 1 is the single-worker baseline; 10 to 10,000 are the scaling points of 70-performance §6 (G5 compares
    // 1,000 with 100 and 10,000 with 1,000).
    private static readonly int[] s_defaults = [1, 10, 100, 1_000, 10_000];

    /// <summary>The sizes to run: <c>FSM2_BENCH_N</c> when set, else 1, 10, 100, 1,000 and 10,000.</summary>
    /// <returns>The N values in the order given.</returns>
    /// <exception cref="FormatException">An entry of <c>FSM2_BENCH_N</c> is not a positive integer.</exception>
    public static IEnumerable<int> FromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return s_defaults;
        }

        var sizes = new List<int>();
        foreach (string part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
            {
                throw new FormatException($"{Variable}: '{part}' is not a positive integer (expected e.g. {Variable}=100,1000)");
            }

            sizes.Add(n);
        }

        return sizes;
    }
}
