using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Benchmarks.Execution;

/// <summary>
/// <c>Program --latency</c>: W5 and W6 of shared/spec/70-performance.md §5 for both executors at 1, 2, 4 and 8 action
/// threads, printed as markdown tables: first one action per millisecond (W6, and W5 with a cold cache), then W5 as the
/// tick meets it, in ticks that enqueue for 64 workers each (≥ 100,000 timed calls).
/// </summary>
/// <remarks>
/// <para>
/// One trivial synchronous action about every millisecond (<see cref="Thread.Sleep(int)"/> of 1 ms after its completion
/// is drained), so the action threads finish spinning and park between actions: the worst case for the wake. Per
/// sample: <c>t0</c> just before <c>TryEnqueue</c>, <c>t1</c> after it, <c>t2</c> after <c>FlushWakeups</c>; the action
/// stamps <see cref="TimeProvider.GetTimestamp"/> as <c>ExecuteAsync</c> begins.
/// </para>
/// <list type="bullet">
/// <item><description>enqueue = t1 − t0 (the <c>TryEnqueue</c> call, W5);</description></item>
/// <item><description>wake = t2 − t1 (the end-of-tick <c>FlushWakeups</c>; the Channels executor's consumers wake themselves inside <c>TryWrite</c>, so its wake is part of its enqueue);</description></item>
/// <item><description>enqueue-to-start = start stamp − t0 (W6).</description></item>
/// </list>
/// <para>
/// Samples go into preallocated <see cref="long"/> arrays; percentiles are nearest-rank on the sorted array. Timestamps
/// include the cost of reading the clock (tens of nanoseconds). The calling thread's allocated bytes over the measured
/// samples are reported too (0 expected).
/// </para>
/// </remarks>
internal static class ExecutorLatency
{
    private const int DefaultSamples = 2_000;
    private const int WarmUpSamples = 200;

    private const int BurstWorkers = 64;
    private const int BurstSamples = 102_400;
    private const int BurstWarmUpTicks = 200;

    private static readonly int[] s_threads = [1, 2, 4, 8];

    public static int Run(string[] args)
    {
        int samples = DefaultSamples;
        int index = Array.IndexOf(args, "--samples");
        if (index >= 0 && (index + 1 >= args.Length || !int.TryParse(args[index + 1], NumberStyles.None, CultureInfo.InvariantCulture, out samples) || samples < 100))
        {
            Console.Error.WriteLine("--samples needs an integer ≥ 100");
            return 2;
        }

        TextWriter o = Console.Out;
        double usPerTick = 1_000_000.0 / Stopwatch.Frequency;
        o.WriteLine("## Executor latency (W5 enqueue, W6 enqueue-to-start)");
        o.WriteLine();
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical CPUs, {RuntimeInformation.ProcessArchitecture}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- {samples} samples per row after {WarmUpSamples} warm-up samples; one trivial synchronous action per ~1 ms (Thread.Sleep(1) after each completion), action threads parked in between; request capacity {ExecutorSetup.Capacity}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- Stopwatch resolution {usPerTick * 1000:F1} ns; all times in µs; nearest-rank percentiles"));
        o.WriteLine();
        o.WriteLine("| Executor | Threads | enqueue p50 | enqueue p99 | wake p50 | wake p99 | enqueue-to-start p50 | enqueue-to-start p99 | enqueue-to-start max | tick-thread B |");
        o.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ExecutorKind kind in new[] { ExecutorKind.Ring, ExecutorKind.Channel })
        {
            foreach (int threads in s_threads)
            {
                Result r = Measure(kind, threads, samples);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {kind} | {threads} | {F(r.Enqueue, 0.50)} | {F(r.Enqueue, 0.99)} | {F(r.Wake, 0.50)} | {F(r.Wake, 0.99)} | {F(r.Start, 0.50)} | {F(r.Start, 0.99)} | {F(r.Start, 1.0)} | {r.AllocatedBytes} |"));
            }
        }

        o.WriteLine();
        o.WriteLine("### W5 in ticks: enqueue for many workers per tick");
        o.WriteLine();
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- {BurstSamples} timed `TryEnqueue` calls per row after {BurstWarmUpTicks} warm-up ticks: ticks of {BurstWorkers} enqueues for {BurstWorkers} distinct workers (each call timed on its own), then `FlushWakeups`, then the completions drained before the next tick; action threads idle (spinning or parked) when a tick starts"));
        o.WriteLine();
        o.WriteLine("| Executor | Threads | enqueue p50 | enqueue p99 | enqueue p99.9 | enqueue max | wake per tick p50 | wake per tick p99 | tick-thread B |");
        o.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ExecutorKind kind in new[] { ExecutorKind.Ring, ExecutorKind.Channel })
        {
            foreach (int threads in s_threads)
            {
                BurstResult r = MeasureBurst(kind, threads);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {kind} | {threads} | {F(r.Enqueue, 0.50)} | {F(r.Enqueue, 0.99)} | {F(r.Enqueue, 0.999)} | {F(r.Enqueue, 1.0)} | {F(r.Wake, 0.50)} | {F(r.Wake, 0.99)} | {r.AllocatedBytes} |"));
            }
        }

        return 0;

        string F(long[] sorted, double p) => (Percentile(sorted, p) * usPerTick).ToString("F2", CultureInfo.InvariantCulture);
    }

    private static Result Measure(ExecutorKind kind, int threads, int samples)
    {
        using var metrics = new EdgeMetrics(null);
        IActionExecutor executor = ExecutorSetup.Create(kind, threads, metrics);
        try
        {
            executor.Start();
            var slot = new ActionSlot("w");
            ActionContext context = ExecutorSetup.Context(slot.WorkerId);
            var action = new StampingAction();
            var enqueue = new long[samples];
            var wake = new long[samples];
            var start = new long[samples];

            for (int i = 0; i < WarmUpSamples; i++)
            {
                Sample(executor, slot, action, in context, out _, out _, out _);
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < samples; i++)
            {
                Sample(executor, slot, action, in context, out enqueue[i], out wake[i], out start[i]);
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Array.Sort(enqueue);
            Array.Sort(wake);
            Array.Sort(start);
            return new Result(enqueue, wake, start, allocated);
        }
        finally
        {
            executor.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            executor.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// W5 as the tick meets it: many workers enqueue in one tick. Each call is timed alone (two clock reads around it),
    /// so the figures include one clock read's cost, which makes them an upper bound.
    /// </summary>
    private static BurstResult MeasureBurst(ExecutorKind kind, int threads)
    {
        using var metrics = new EdgeMetrics(null);
        IActionExecutor executor = ExecutorSetup.Create(kind, threads, metrics);
        try
        {
            executor.Start();
            var slots = new ActionSlot[BurstWorkers];
            var contexts = new ActionContext[BurstWorkers];
            for (int i = 0; i < BurstWorkers; i++)
            {
                slots[i] = new ActionSlot("w" + i.ToString(CultureInfo.InvariantCulture));
                contexts[i] = ExecutorSetup.Context(slots[i].WorkerId);
            }

            var action = new SyncAction();
            int ticks = BurstSamples / BurstWorkers;
            var enqueue = new long[ticks * BurstWorkers];
            var wake = new long[ticks];
            for (int t = 0; t < BurstWarmUpTicks; t++)
            {
                BurstTick(executor, slots, contexts, action, enqueue.AsSpan(0, BurstWorkers), out _);
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int t = 0; t < ticks; t++)
            {
                BurstTick(executor, slots, contexts, action, enqueue.AsSpan(t * BurstWorkers, BurstWorkers), out wake[t]);
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Array.Sort(enqueue);
            Array.Sort(wake);
            return new BurstResult(enqueue, wake, allocated);
        }
        finally
        {
            executor.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            executor.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static void BurstTick(IActionExecutor executor, ActionSlot[] slots, ActionContext[] contexts, SyncAction action, Span<long> enqueue, out long wake)
    {
        for (int i = 0; i < slots.Length; i++)
        {
            long t0 = TimeProvider.System.GetTimestamp();
            bool accepted = executor.TryEnqueue(slots[i], action, in contexts[i]);
            enqueue[i] = TimeProvider.System.GetTimestamp() - t0;
            if (!accepted)
            {
                throw new InvalidOperationException("the executor refused an enqueue into a queue with free slots");
            }
        }

        long w0 = TimeProvider.System.GetTimestamp();
        executor.FlushWakeups();
        wake = TimeProvider.System.GetTimestamp() - w0;

        var spin = default(SpinWait);
        long deadline = Environment.TickCount64 + 10_000;
        int drained = 0;
        while (drained < slots.Length)
        {
            drained += ExecutorSetup.Drain(executor);
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException("the tick's actions did not complete within 10 s");
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    internal static void Sample(IActionExecutor executor, ActionSlot slot, StampingAction action, in ActionContext context, out long enqueue, out long wake, out long start)
    {
        // Let the action threads finish spinning and park (W6: the worst case for the wake).
        Thread.Sleep(1);
        long t0 = TimeProvider.System.GetTimestamp();
        bool accepted = executor.TryEnqueue(slot, action, in context);
        long t1 = TimeProvider.System.GetTimestamp();
        executor.FlushWakeups();
        long t2 = TimeProvider.System.GetTimestamp();
        if (!accepted)
        {
            throw new InvalidOperationException("the executor refused an enqueue into an empty queue");
        }

        var spin = default(SpinWait);
        long deadline = Environment.TickCount64 + 10_000;
        while (ExecutorSetup.Drain(executor) == 0)
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException("no completion within 10 s");
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }

        enqueue = t1 - t0;
        wake = t2 - t1;
        start = action.StartedAt - t0;
    }

    internal static long Percentile(long[] sorted, double p)
    {
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private sealed record BurstResult(long[] Enqueue, long[] Wake, long AllocatedBytes);

    private sealed record Result(long[] Enqueue, long[] Wake, long[] Start, long AllocatedBytes);
}
