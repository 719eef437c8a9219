using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
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
/// Peers (70-performance §7): <see cref="AkkaTreeRoundTrip"/> and <see cref="ProtoActorTreeRoundTrip"/> run an actor
/// tree of the same W1 shape (<see cref="PeerTreeNode.Build"/>), created once in set-up on the default dispatcher /
/// default Proto.Actor system. One operation sends one <see cref="PeerTick"/> to the root (Akka <c>Ask</c>, Proto.Actor
/// <c>RequestAsync</c>, neither with a timeout); the root fans it out to the parents and they to their leaves; every
/// worker node runs the synthetic state check (<see cref="SyntheticCheck"/>: <c>Running.Next</c> on a steady
/// snapshot), a leaf replies to its parent, a parent replies once all its children have, and the operation ends when
/// the root's reply arrives. Their <c>Ratio</c> is also against the flat tick; G4 is
/// <c>SteadyQuiescent / AkkaTreeRoundTrip</c> at N = 1,000 from the two rows' means.
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
    private ActorSystem? _akka;
    private IActorRef _akkaRoot = ActorRefs.Nobody;
    private Proto.ActorSystem? _proto;
    private Proto.PID? _protoRoot;

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

    [GlobalSetup(Target = nameof(AkkaTreeRoundTrip))]
    public void SetUpAkka()
    {
        PeerTreeNode tree = PeerTreeNode.Build(N);
        _akka = ActorSystem.Create("fsm2-peer", "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING");
        _akkaRoot = _akka.ActorOf(Props.Create<AkkaTreeActor>(tree), "root");

        // One round trip before measuring: every actor exists and the protocol completes.
        AkkaTreeRoundTrip().GetAwaiter().GetResult();
        Console.WriteLine($"// Akka.NET: N = {N}: tree of {tree.Count} actors, first round trip done");
    }

    [GlobalSetup(Target = nameof(ProtoActorTreeRoundTrip))]
    public void SetUpProto()
    {
        PeerTreeNode tree = PeerTreeNode.Build(N);
        _proto = new Proto.ActorSystem();
        _protoRoot = _proto.Root.SpawnNamed(Proto.Props.FromProducer(() => new ProtoTreeActor(tree)), "root");
        ProtoActorTreeRoundTrip().GetAwaiter().GetResult();
        Console.WriteLine($"// Proto.Actor: N = {N}: tree of {tree.Count} actors, first round trip done");
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _bench?.Dispose();
        _bench = null;
        _akka?.Terminate().GetAwaiter().GetResult();
        _akka = null;
        _proto?.ShutdownAsync("benchmark done").GetAwaiter().GetResult();
        _proto = null;
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

    /// <summary>Akka.NET peer: one tick round trip through the W1-shaped actor tree (see the class remarks).</summary>
    /// <returns>The root's reply.</returns>
    [Benchmark]
    public Task<PeerDone> AkkaTreeRoundTrip() => _akkaRoot.Ask<PeerDone>(PeerTick.Instance);

    /// <summary>Proto.Actor peer: the same tree, shape and protocol as <see cref="AkkaTreeRoundTrip"/>.</summary>
    /// <returns>The root's reply.</returns>
    [Benchmark]
    public Task<PeerDone> ProtoActorTreeRoundTrip() => _proto!.Root.RequestAsync<PeerDone>(_protoRoot!, PeerTick.Instance, CancellationToken.None);

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
