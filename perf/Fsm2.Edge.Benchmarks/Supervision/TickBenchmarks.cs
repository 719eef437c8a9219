using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using Fsm2.Edge.Benchmarks.Support;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Benchmarks.Supervision;

/// <summary>
/// One steady-state tick (<see cref="SupervisorRuntime.TickOnce"/>) of N workers, in manual mode on the benchmark
/// thread (shared/spec/70-performance.md §1.4, §5 W1/W2, budget B1, gates S1 and G5).
/// </summary>
/// <remarks>
/// <para>
/// Shapes: <see cref="SteadyFlat"/> is the root plus N independent top-level synthetic workers (N = 1 is the
/// single-worker baseline); <see cref="SteadyQuiescent"/> and <see cref="SteadyObserved"/> use the calibration tree for
/// N (<see cref="SyntheticTree"/>: N nodes counting the root, so N − 1 workers), which needs N ≥ 2; the config filter
/// drops the tree methods for smaller N instead of reporting an empty row. <c>Ratio</c> is each shape against the flat
/// tick of the same N.
/// </para>
/// <para>
/// Steady state: every node <c>running</c>, a desired record published, one observation in the slot, no action in
/// flight, a metrics listener attached. Set-up then runs 1,000 warm-up ticks (the minimum of 70-performance §1.5)
/// and prints the bytes they allocated, so a non-zero <c>Allocated</c> column can be traced without a profiler.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "BenchmarkDotNet owns the instance and calls [GlobalCleanup], which disposes the runtime; it never calls Dispose.")]
[Config(typeof(TreeSizeFilter))]
public class TickBenchmarks
{
    // The smallest N SyntheticTree.Register accepts: the root plus one parent.
    private const int MinTreeSize = 2;

    // 70-performance §1.5: budgets apply after at least 1,000 ticks.
    private const int WarmUpTicks = 1_000;

    private BenchRuntime? _bench;
    private SupervisorRuntime _runtime = null!;
    private WorkerHandle<SyntheticObserved, string>[] _handles = [];
    private Observation<SyntheticObserved>[][] _observations = [];
    private int _round;

    /// <summary>Workers (flat) or nodes including the root (tree); from <c>FSM2_BENCH_N</c> when set.</summary>
    [ParamsSource(nameof(Sizes))]
    public int N { get; set; }

    /// <summary>The N values.</summary>
    public static IEnumerable<int> Sizes => BenchmarkSizes.FromEnvironment();

    [GlobalSetup(Target = nameof(SteadyFlat))]
    public void SetUpFlat()
    {
        _bench = new BenchRuntime();
        _bench.Factory.Register<SyntheticObserved, string>(SyntheticTree.LeafType, _ => new SyntheticWorker(null, startedInitially: true));
        var top = new ChildSpec[N];
        for (int i = 0; i < N; i++)
        {
            top[i] = new ChildSpec($"w{i}", SyntheticTree.LeafType, UserSpec.Empty);
        }

        _bench.Settle(top, expectedNodes: N);
        _runtime = _bench.Runtime;
        Report(_bench.TickAndMeasure(WarmUpTicks));
    }

    [GlobalSetup(Target = nameof(SteadyQuiescent))]
    public void SetUpQuiescent()
    {
        SetUpTree();
        Report(_bench!.TickAndMeasure(WarmUpTicks));
    }

    [GlobalSetup(Target = nameof(SteadyObserved))]
    public void SetUpObserved()
    {
        SetUpTree();

        // Two envelopes per slot (each with its own value object), alternated: two is the fewest that gives every
        // tick a reference it did not see on the previous tick. Their sequences therefore go up and down by one;
        // the tick compares sequences only in the action gate after a completion, and W2 runs no actions.
        _handles = _bench!.SyntheticHandles();
        _observations = [new Observation<SyntheticObserved>[_handles.Length], new Observation<SyntheticObserved>[_handles.Length]];
        DateTimeOffset now = _bench.Time.GetUtcNow();
        for (int i = 0; i < _handles.Length; i++)
        {
            _handles[i].TryGetObservation(out _, out long sequence);
            for (int r = 0; r < _observations.Length; r++)
            {
                long next = sequence + r + 1;
                _observations[r][i] = new Observation<SyntheticObserved>(new SyntheticObserved(Started: true, next, next), now, next);
            }
        }

        Report(_bench.TickAndMeasure(WarmUpTicks, SwapObservations));
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _bench?.Dispose();
        _bench = null;
    }

    /// <summary>The root plus N independent workers, nothing changes: the per-worker cost without a hierarchy.</summary>
    [Benchmark(Baseline = true)]
    public void SteadyFlat() => _runtime.TickOnce();

    /// <summary>W1: the calibration tree for N, nothing changes.</summary>
    [Benchmark]
    public void SteadyQuiescent() => _runtime.TickOnce();

    /// <summary>
    /// W2: as W1, but first every worker's slot receives a new pre-built observation that changes no state. The
    /// measured time includes those N − 1 slot stores (one volatile reference write each).
    /// </summary>
    [Benchmark]
    public void SteadyObserved()
    {
        SwapObservations();
        _runtime.TickOnce();
    }

    private void SwapObservations()
    {
        _round ^= 1;
        Observation<SyntheticObserved>[] next = _observations[_round];
        WorkerHandle<SyntheticObserved, string>[] handles = _handles;
        for (int i = 0; i < handles.Length; i++)
        {
            handles[i].PublishObservation(next[i]);
        }
    }

    private void SetUpTree()
    {
        _bench = new BenchRuntime();
        IReadOnlyList<ChildSpec> top = SyntheticTree.Register(_bench.Factory, N);
        _bench.Settle(top, expectedNodes: N - 1);
        _runtime = _bench.Runtime;
    }

    private void Report(long warmUpBytes)
        => Console.WriteLine($"// Fsm2.Edge: N = {N}: {warmUpBytes} B allocated by the tick thread over {WarmUpTicks} warm-up ticks ({(double)warmUpBytes / WarmUpTicks:F1} B/tick)");

    /// <summary>Drops the tree methods for N below the smallest calibration tree.</summary>
    public sealed class TreeSizeFilter : ManualConfig
    {
        /// <summary>Creates the filter.</summary>
        public TreeSizeFilter()
            => AddFilter(new SimpleFilter(c => c.Descriptor.WorkloadMethod.Name == nameof(SteadyFlat) || (int)c.Parameters[nameof(N)] >= MinTreeSize));
    }
}
