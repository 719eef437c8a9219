using BenchmarkDotNet.Running;
using Fsm2.Edge.Benchmarks.Execution;

namespace Fsm2.Edge.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --no-build --project perf/Fsm2.Edge.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>
    /// Runs the benchmarks selected on the command line; with <c>--latency [--samples N]</c> the executor latency
    /// measurement (<see cref="ExecutorLatency"/>), which prints markdown tables; with <c>--checks</c> the wall-clock
    /// acceptance checks and CI gates (<see cref="ExecutorChecks"/>, S1–S3, G2, G3), which print
    /// <c>check: PASS|FAIL</c> lines for CI; with <c>--a36</c>
    /// the executor's tick-side share with 1,000 re-emitting workers (<see cref="ActionTickLoad"/>); with <c>--flow</c> the
    /// messages/s one source-flow bridges through the embedded broker (<see cref="Flow.FlowThroughput"/>).
    /// </summary>
    /// <param name="args">BenchmarkDotNet arguments (<c>--filter</c>, <c>--job</c>, <c>--artifacts</c> ...), or <c>--latency</c>.</param>
    /// <returns>The process exit code.</returns>
    public static int Main(string[] args)
    {
        if (args.Contains("--latency"))
        {
            return ExecutorLatency.Run(args);
        }

        if (args.Contains("--checks"))
        {
            return ExecutorChecks.Run();
        }

        if (args.Contains("--flow"))
        {
            return Flow.FlowThroughput.Run(args);
        }

        if (args.Contains("--a36"))
        {
            return ActionTickLoad.Run();
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
