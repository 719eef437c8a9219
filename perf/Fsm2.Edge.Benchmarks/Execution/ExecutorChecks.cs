using System.Diagnostics;
using System.Globalization;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Benchmarks.Execution;

/// <summary>
/// <c>Program --checks</c>: the executor's latency acceptance behaviours that are wall-clock by nature, run as CI
/// checks rather than unit tests (unit tests never assert wall-clock time). Each prints one line
/// <c>check: PASS|FAIL &lt;id&gt; ...</c>, which .ci/run counts.
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
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// A-36's second bullet: the executor's tick-side work (completion drain, stuck scan, enqueues, wake) for 1,000
    /// workers whose synchronous actions all completed since the previous tick stays under 50 µs p99, and the tick
    /// thread allocates 0 B (<see cref="ActionTickLoad"/> replays exactly the executor's calls of TickCore). Between
    /// ticks the action threads finish and park, so a measured tick runs alone; like A-37, a failed run is repeated
    /// once, because a neighbour can deschedule the tick thread for longer than 1 % of 2,000 ticks.
    /// </summary>
    private static int CheckTickSide()
    {
        const double LimitUs = 50;
        double usPerTimestamp = 1_000_000.0 / Stopwatch.Frequency;
        (long[] sorted, long bytes, long actions) = ActionTickLoad.MeasureExecutorSide(threads: 2);
        double p99 = ExecutorLatency.Percentile(sorted, 0.99) * usPerTimestamp;
        string figures = string.Create(CultureInfo.InvariantCulture,
            $"p99 {p99:F1} µs, p50 {ExecutorLatency.Percentile(sorted, 0.5) * usPerTimestamp:F1} µs, {bytes} B");
        bool pass = p99 < LimitUs && bytes == 0;
        if (!pass)
        {
            (sorted, bytes, actions) = ActionTickLoad.MeasureExecutorSide(threads: 2);
            p99 = ExecutorLatency.Percentile(sorted, 0.99) * usPerTimestamp;
            pass = p99 < LimitUs && bytes == 0;
            figures += string.Create(CultureInfo.InvariantCulture, $", repeated: p99 {p99:F1} µs, {bytes} B");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"check: {(pass ? "PASS" : "FAIL")} A-36 executor tick-side work p99 < 50 µs and 0 B, 1,000 actions per tick: {figures}, {actions} actions over {sorted.Length} ticks"));
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
