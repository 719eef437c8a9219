using BenchmarkDotNet.Attributes;
using Fsm2.Edge.Health;

namespace Fsm2.Edge.Benchmarks.Health;

/// <summary>
/// The per-tick cost of the infrastructure breaker struct (shared/spec/70-performance.md §6, gate G2): a closed breaker
/// that evaluates and stays closed, and an open breaker whose trial is not due. The health evaluation itself is
/// covered, with 20 children and 2 probes, by HealthTickAllocationTests (S-13).
/// </summary>
/// <remarks>
/// The Polly.Core peer of 70-performance §7 is not in this class yet: Polly.Core is not among the central package
/// versions. The stamps advance by one unit per call, so no call is optimised into a constant.
/// </remarks>
[MemoryDiagnoser]
public class BreakerBenchmarks
{
    // 1 s, 60 s, 60 s in 100 ns units (FakeTimeProvider's timestamp frequency); jitter 0.2; labels at 3 and 5.
    private static readonly BreakerPolicy s_policy = new(10_000_000, 600_000_000, 600_000_000, 0.2, 3, 5);

    private InfraBreaker _closed;
    private InfraBreaker _open;
    private long _now;

    [GlobalSetup]
    public void SetUp()
    {
        _closed = new InfraBreaker(0, 42);
        _open = new InfraBreaker(0, 43);
        _open.Report(healthy: false, 0, in s_policy);
        _open.NextTrialAt = long.MaxValue; // never due during the run
        _now = 1;
    }

    /// <summary>One tick of a healthy node: BeginTick, then Report(healthy).</summary>
    [Benchmark(Baseline = true)]
    public bool ClosedCheck()
    {
        long now = ++_now;
        return _closed.BeginTick(now) && _closed.Report(healthy: true, now, in s_policy) == BreakerEvent.None;
    }

    /// <summary>One tick of an open node before its trial: BeginTick only.</summary>
    [Benchmark]
    public bool OpenCheck() => _open.BeginTick(++_now);
}
