using System.Diagnostics;
using System.Globalization;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Benchmarks.Execution;

/// <summary>
/// <c>Program --checks</c>: the executor's latency acceptance behaviours that are wall-clock by nature, run as CI
/// checks rather than unit tests (unit tests never assert wall-clock time). Each prints one line
/// <c>check: PASS|FAIL &lt;id&gt; ...</c>, which .ci/run counts. The seed ceilings S1–S3 (PF-04, PF-09, PF-10,
/// <see cref="SeedCeilingChecks"/>) and the peer gates G2 and G3 (Polly.Core, Stateless; <see cref="PeerGateChecks"/>) run
/// here too.
/// </summary>
/// <remarks>
/// A-36's second bullet (<see cref="CheckTickSide"/>). A-37 (shared/spec/40-actions.md): with offered load below the number of free threads, the wait from enqueue to start
/// is under 10 ms p99; with one worker's action hanging, the other workers' actions still start within 10 ms p99 while
/// a thread is free. 10 ms is some 200× the measured p99 on the reference machine (ExecutorLatency.md), so a failure
/// means a lost or late wake-up, not a noisy neighbour. B5's 50 µs p99 stays a reported figure (ExecutorLatency.md):
/// a shared CI machine cannot hold it reliably.
/// </remarks>
internal static class ExecutorChecks
{
    private const int Samples = 1_000;
    private const int WarmUpSamples = 100;
    private static readonly TimeSpan s_limit = TimeSpan.FromMilliseconds(10);

    public static int Run()
    {
        int failures = 0;
        failures += Check("A-37 enqueue-to-start p99 < 10 ms, load below free threads", hang: false);
        failures += Check("A-37 enqueue-to-start p99 < 10 ms, one worker's action hanging", hang: true);
        failures += CheckTickSide();
        failures += SeedCeilingChecks.Run();
        failures += PeerGateChecks.Run();
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// A-36's second bullet: the executor's tick-side work (completion drain, stuck scan, enqueues, wake) for 1,000
    /// workers whose synchronous actions all completed since the previous tick, and 0 B on the tick thread
    /// (<see cref="ActionTickLoad"/> replays exactly the executor's calls of TickCore). The pass criterion is relative,
    /// because the machines are shared: 0 B, and the ring's p50 no higher than the Channels executor's p50 measured in the
    /// same run (G1's rule for the ring against the channel; 0.21–0.40 on a quiet reference VM, up to 0.73 seen while
    /// other builds and benchmarks ran). The absolute figures are printed against the 50 µs p99 budget; on the
    /// 2-vCPU reference VM the p99 reaches 75–90 µs when the action threads run on the other core (cache-line transfers
    /// of the envelopes and ring cells), so the absolute budget is reported, not enforced. A failed run is repeated once.
    /// </summary>
    private static int CheckTickSide()
    {
        const double BudgetUs = 50;
        const double MaxRatio = 1.0;
        double usPerTimestamp = 1_000_000.0 / Stopwatch.Frequency;
        string figures = "";
        bool pass = false;
        for (int attempt = 0; attempt < 2 && !pass; attempt++)
        {
            (long[] ring, long bytes, long actions) = ActionTickLoad.MeasureExecutorSide(threads: 2);
            (long[] channel, _, _) = ActionTickLoad.MeasureExecutorSide(threads: 2, ExecutorKind.Channel);
            double ratio = (double)ExecutorLatency.Percentile(ring, 0.5) / ExecutorLatency.Percentile(channel, 0.5);
            double p99 = ExecutorLatency.Percentile(ring, 0.99) * usPerTimestamp;
            pass = bytes == 0 && ratio <= MaxRatio;
            figures += string.Create(CultureInfo.InvariantCulture,
                $"{(attempt > 0 ? "; repeated: " : "")}ring p50 {ExecutorLatency.Percentile(ring, 0.5) * usPerTimestamp:F1} µs, p99 {p99:F1} µs " +
                $"(budget {BudgetUs:F0} µs: {(p99 < BudgetUs ? "met" : "not met")}), {bytes} B, ring/Channels p50 {ratio:F2}, {actions} actions over {ring.Length} ticks");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"check: {(pass ? "PASS" : "FAIL")} A-36 executor tick-side work, 1,000 actions per tick: 0 B and ring/Channels p50 <= {MaxRatio:F1}: {figures}"));
        return pass ? 0 : 1;
    }

    // A noisy neighbour can stretch scheduling latency to milliseconds for a while; a lost or late wake-up fails every
    // time. So a failed check runs once more, and both figures are printed.
    private static int Check(string name, bool hang)
    {
        TimeSpan first = Measure(hang);
        bool pass = first < s_limit;
        string figures = string.Create(CultureInfo.InvariantCulture, $"p99 {first.TotalMilliseconds:F3} ms");
        if (!pass)
        {
            TimeSpan second = Measure(hang);
            pass = second < s_limit;
            figures += string.Create(CultureInfo.InvariantCulture, $", repeated: p99 {second.TotalMilliseconds:F3} ms");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"check: {(pass ? "PASS" : "FAIL")} {name}: {figures} over {Samples} actions"));
        return pass ? 0 : 1;
    }

    private static TimeSpan Measure(bool hang)
    {
        long p99;
        using (var metrics = new EdgeMetrics(null))
        {
            IActionExecutor executor = ExecutorSetup.Create(ExecutorKind.Ring, 2, metrics);
            using var release = new ManualResetEventSlim();
            try
            {
                executor.Start();
                if (hang)
                {
                    var hangSlot = new ActionSlot("hang");
                    var hanging = new HangingAction(release);
                    if (!executor.TryEnqueue(hangSlot, hanging, ExecutorSetup.Context(hangSlot.WorkerId)))
                    {
                        throw new InvalidOperationException("the hanging action was refused");
                    }

                    executor.FlushWakeups();
                    if (!hanging.Started.Wait(TimeSpan.FromSeconds(10)))
                    {
                        throw new TimeoutException("the hanging action did not start within 10 s");
                    }
                }

                var slot = new ActionSlot("w");
                ActionContext context = ExecutorSetup.Context(slot.WorkerId);
                var action = new StampingAction();
                var start = new long[Samples];
                for (int i = 0; i < WarmUpSamples; i++)
                {
                    ExecutorLatency.Sample(executor, slot, action, in context, out _, out _, out _);
                }

                for (int i = 0; i < Samples; i++)
                {
                    ExecutorLatency.Sample(executor, slot, action, in context, out _, out _, out start[i]);
                }

                Array.Sort(start);
                p99 = ExecutorLatency.Percentile(start, 0.99);
            }
            finally
            {
                release.Set();
                executor.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
                executor.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        return TimeSpan.FromTicks(p99 * TimeSpan.TicksPerSecond / Stopwatch.Frequency);
    }

    /// <summary>Holds its action thread until released: one of the two threads stays busy for the whole check.</summary>
    private sealed class HangingAction(ManualResetEventSlim release) : IAction
    {
        public ManualResetEventSlim Started { get; } = new();

        public string Kind => "bench-hang";

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            Started.Set();
            release.Wait(CancellationToken.None);
            return default;
        }
    }
}
