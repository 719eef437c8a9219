using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Benchmarks.Execution;

/// <summary>
/// The tick's side of the executor (shared/spec/70-performance.md §5, W5) for <see cref="RingActionExecutor"/> against
/// <see cref="ChannelActionExecutor"/>, at 1, 2 and 4 action threads: a "tick" enqueues <see cref="Batch"/> cached
/// trivial synchronous actions for <see cref="Batch"/> idle slots, flushes the wake, then drains the completions
/// until all <see cref="Batch"/> are back. Time is per action (<c>OperationsPerInvoke</c>).
/// </summary>
/// <remarks>
/// <para>
/// The measured time is the round trip seen by the tick thread (enqueue, wake, hand-off to the action threads, the
/// action, the completion publish and the drain), not the <c>TryEnqueue</c> call alone: the executors' request queues
/// are private, so the benchmark cannot dequeue without running the actions. The call alone, the wake alone and the
/// enqueue-to-start latency (W6) are measured by <c>Program --latency</c> (<see cref="ExecutorLatency"/>).
/// </para>
/// <para>
/// BenchmarkDotNet's <c>Allocated</c> column counts every thread of the process (action threads included). Set-up
/// runs 10,000 warm-up ticks and prints the bytes the calling (tick) thread alone allocated; one-off warm-up
/// allocations show there (24 B to 12 KB observed), steady state is checked at 0 B by <c>Program --latency</c>.
/// </para>
/// <para>
/// The drain waits with a yielding <see cref="SpinWait"/>; on 2 vCPUs the tick thread and 2 or 4 action threads
/// share the cores, so Threads = 4 measures oversubscription.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "BenchmarkDotNet owns the instance and calls [GlobalCleanup], which stops and disposes the executor; it never calls Dispose.")]
public class ExecutorBenchmarks
{
    /// <summary>Actions per tick (per invocation).</summary>
    public const int Batch = 16;

    private const int WarmUpTicks = 10_000;

    private readonly SyncAction _action = new();
    private EdgeMetrics? _metrics;
    private IActionExecutor? _executor;
    private ActionSlot[] _slots = [];
    private ActionContext[] _contexts = [];

    /// <summary>Action threads.</summary>
    [Params(1, 2, 4, 8)]
    public int Threads { get; set; }

    [GlobalSetup(Target = nameof(RingEnqueueAndDrain))]
    public void SetUpRing() => SetUp(ExecutorKind.Ring);

    [GlobalSetup(Target = nameof(ChannelEnqueueAndDrain))]
    public void SetUpChannel() => SetUp(ExecutorKind.Channel);

    [GlobalCleanup]
    public void CleanUp()
    {
        if (_executor is not null)
        {
            _executor.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            _executor.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _executor = null;
        }

        _metrics?.Dispose();
        _metrics = null;
    }

    /// <summary>W5 round trip, ring executor: <see cref="Batch"/> enqueues + wake + drain of their completions.</summary>
    /// <returns>The completions drained.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public int RingEnqueueAndDrain() => Tick();

    /// <summary>W5 round trip, Channels executor: <see cref="Batch"/> enqueues + wake + drain of their completions.</summary>
    /// <returns>The completions drained.</returns>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ChannelEnqueueAndDrain() => Tick();

    private void SetUp(ExecutorKind kind)
    {
        _metrics = new EdgeMetrics(null);
        _executor = ExecutorSetup.Create(kind, Threads, _metrics);
        _executor.Start();
        _slots = new ActionSlot[Batch];
        _contexts = new ActionContext[Batch];
        for (int i = 0; i < Batch; i++)
        {
            _slots[i] = new ActionSlot($"w{i}");
            _contexts[i] = ExecutorSetup.Context(_slots[i].WorkerId);
        }

        Tick();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < WarmUpTicks; i++)
        {
            Tick();
        }

        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"// Fsm2.Edge: {kind}, {Threads} thread(s): {bytes} B allocated by the tick thread over {WarmUpTicks} warm-up ticks of {Batch} actions");
    }

    private int Tick()
    {
        IActionExecutor executor = _executor!;
        ActionSlot[] slots = _slots;
        ActionContext[] contexts = _contexts;
        for (int i = 0; i < slots.Length; i++)
        {
            if (!executor.TryEnqueue(slots[i], _action, in contexts[i]))
            {
                ThrowRefused(i);
            }
        }

        executor.FlushWakeups();
        int drained = 0;
        var spin = default(SpinWait);
        while (true)
        {
            int taken = ExecutorSetup.Drain(executor);
            drained += taken;
            if (drained >= slots.Length)
            {
                return drained;
            }

            if (taken > 0)
            {
                spin.Reset();
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    [DoesNotReturn]
    private static void ThrowRefused(int slot) => throw new InvalidOperationException($"the executor refused the enqueue for slot {slot}");
}
