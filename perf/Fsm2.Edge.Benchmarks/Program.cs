using BenchmarkDotNet.Running;

namespace Fsm2.Edge.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --no-build --project perf/Fsm2.Edge.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks selected on the command line.</summary>
    /// <param name="args">BenchmarkDotNet arguments (<c>--filter</c>, <c>--job</c>, <c>--artifacts</c> ...).</param>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
