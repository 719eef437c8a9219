using System.Diagnostics;
using System.Globalization;
using Fsm2.Edge.Benchmarks.Health;
using Fsm2.Edge.Benchmarks.Workers;

namespace Fsm2.Edge.Benchmarks;

/// <summary>
/// Gates G2 and G3 of shared/spec/70-performance.md §7 (PF-06, PF-07), checked on every CI run as part of
/// <c>Program --checks</c>: each prints one <c>check: PASS|FAIL G2 ...</c> / <c>G3 ...</c> line with its figures.
/// </summary>
/// <remarks>
/// <para>
/// The workloads are the benchmark classes' own methods (<see cref="BreakerBenchmarks"/>,
/// <see cref="TransitionBenchmarks"/>), called in Stopwatch-timed loops in process. Each side first runs for
/// 300 ms so both reach optimised code, then the two sides alternate in 10 batches of about 25 ms each, so drift on a shared machine hits both alike. Pass: the ratio of the means,
/// Fsm2.Edge / peer, is ≤ 0.5, and the bytes the measuring thread allocated across all of Fsm2.Edge's batches
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) are exactly 0. A failed measurement runs once more and the
/// line shows both. About 1.5 s per gate.
/// </para>
/// <para>
/// Both loops pay the same per-iteration call overhead, which moves the ratio towards 1, so the check is, if
/// anything, stricter than the BenchmarkDotNet report of the same classes.
/// </para>
/// </remarks>
internal static class PeerGateChecks
{
    private const double MaxRatio = 0.5;
    private const int Batches = 10;
    private static readonly TimeSpan s_warmUp = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan s_batchTarget = TimeSpan.FromMilliseconds(25);

    public static int Run()
    {
        var breaker = new BreakerBenchmarks();
        breaker.SetUp();
        var transitions = new TransitionBenchmarks();
        transitions.SetUp();

        int failures = 0;
        failures += Check(
            "G2 (PF-06) BreakerBenchmarks ClosedCheck <= 0.5x Polly.Core closed Execute, 0 B",
            "ClosedCheck (one tick)", n => ClosedLoop(breaker, n),
            "Polly closed Execute", n => PollyClosedLoop(breaker, n));
        failures += Check(
            "G3 (PF-07) TransitionBenchmarks FourStateCycle <= 0.5x Stateless four-trigger cycle, 0 B",
            "FourStateCycle", n => CycleLoop(transitions, n),
            "Stateless cycle", n => StatelessLoop(transitions, n));
        return failures;
    }

    private static int Check(string name, string ours, Func<int, long> oursLoop, string peer, Func<int, long> peerLoop)
    {
        string figures = "";
        bool pass = false;
        for (int attempt = 0; attempt < 2 && !pass; attempt++)
        {
            (double oursNs, double peerNs, long bytes, long operations) = Measure(oursLoop, peerLoop);
            double ratio = oursNs / peerNs;
            pass = bytes == 0 && ratio <= MaxRatio;
            figures += string.Create(CultureInfo.InvariantCulture,
                $"{(attempt > 0 ? "; repeated: " : "")}{ours} {oursNs:F2} ns, {bytes} B over {operations} operations; {peer} {peerNs:F2} ns; ratio {ratio:F3} (ceiling {MaxRatio:F1})");
        }

        Console.WriteLine($"check: {(pass ? "PASS" : "FAIL")} {name}: {figures}");
        return pass ? 0 : 1;
    }

    private static (double OursNs, double PeerNs, long Bytes, long Operations) Measure(Func<int, long> ours, Func<int, long> peer)
    {
        int oursPerBatch = Calibrate(ours);
        int peerPerBatch = Calibrate(peer);
        long oursElapsed = 0, peerElapsed = 0, bytes = 0, sink = 0;
        for (int b = 0; b < Batches; b++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            long started = Stopwatch.GetTimestamp();
            sink += ours(oursPerBatch);
            oursElapsed += Stopwatch.GetTimestamp() - started;
            bytes += GC.GetAllocatedBytesForCurrentThread() - before;

            started = Stopwatch.GetTimestamp();
            sink += peer(peerPerBatch);
            peerElapsed += Stopwatch.GetTimestamp() - started;
        }

        long expected = ((long)oursPerBatch + peerPerBatch) * Batches;
        if (sink != expected)
        {
            throw new InvalidOperationException($"a workload did not do its job: {sink} successful operations of {expected}");
        }

        double oursNs = Nanoseconds(oursElapsed) / ((long)oursPerBatch * Batches);
        double peerNs = Nanoseconds(peerElapsed) / ((long)peerPerBatch * Batches);
        return (oursNs, peerNs, bytes, (long)oursPerBatch * Batches);
    }

    // Runs the loop for the warm-up time in growing rounds (tiered compilation promotes it meanwhile), then sizes a
    // batch to the batch target from the last round's speed.
    private static int Calibrate(Func<int, long> loop)
    {
        int n = 1_000;
        long warmUpEnd = Stopwatch.GetTimestamp() + (long)(s_warmUp.TotalSeconds * Stopwatch.Frequency);
        double secondsPerOperation;
        while (true)
        {
            long started = Stopwatch.GetTimestamp();
            loop(n);
            long finished = Stopwatch.GetTimestamp();
            secondsPerOperation = (double)(finished - started) / Stopwatch.Frequency / n;
            if (finished >= warmUpEnd)
            {
                break;
            }

            n = (int)Math.Min(n * 2L, 10_000_000);
        }

        return (int)Math.Clamp(s_batchTarget.TotalSeconds / secondsPerOperation, 1_000, 50_000_000);
    }

    private static long ClosedLoop(BreakerBenchmarks bench, int n)
    {
        long ok = 0;
        for (int i = 0; i < n; i++)
        {
            ok += bench.TickClosed() ? 1 : 0;
        }

        return ok;
    }

    private static long PollyClosedLoop(BreakerBenchmarks bench, int n)
    {
        long ok = 0;
        for (int i = 0; i < n; i++)
        {
            ok += bench.PollyClosedExecute() ? 1 : 0;
        }

        return ok;
    }

    private static long CycleLoop(TransitionBenchmarks bench, int n)
    {
        long ok = 0;
        for (int i = 0; i < n; i++)
        {
            ok += bench.FourStateCycle() == 4 ? 1 : 0;
        }

        return ok;
    }

    private static long StatelessLoop(TransitionBenchmarks bench, int n)
    {
        long ok = 0;
        for (int i = 0; i < n; i++)
        {
            ok += bench.StatelessCycle() == 4 ? 1 : 0;
        }

        return ok;
    }

    private static double Nanoseconds(long timestamps) => timestamps * 1_000_000_000.0 / Stopwatch.Frequency;
}
