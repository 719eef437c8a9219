using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Fsm2.Edge.Benchmarks.Support;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Benchmarks.Templating;

/// <summary>
/// A parent deriving 100 templated children (20-templating §6, §1.9): one parent declares 100 children whose config
/// is the typical 10-variable template. <see cref="GlobalChangeTick"/> is the tick after a Global change: the parent
/// and each child re-derive once, and each child renders once and publishes a new desired config.
/// <see cref="SteadyTick"/> is the same tree with nothing changed: no derive, no render, 0 B (T-21).
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "BenchmarkDotNet owns the instance and calls [GlobalCleanup], which disposes the runtime.")]
public class TemplatedParentBenchmarks
{
    private const int Children = 100;

    private BenchRuntime? _bench;
    private SupervisorRuntime _runtime = null!;
    private IReadOnlyDictionary<string, object?>[] _globals = [];
    private int _flip;

    [GlobalSetup]
    public void SetUp()
    {
        _bench = new BenchRuntime();
        _runtime = _bench.Runtime;
        var declared = new ChildSpec[Children];
        for (int i = 0; i < declared.Length; i++)
        {
            declared[i] = new ChildSpec($"c{i}", TemplatedLeafWorker.WorkerType,
                new UserSpec(TemplatingBenchmarkData.TypicalConfig, new VariableBundle(TemplatingBenchmarkData.User($"s-{i}"))));
        }

        _bench.Factory.Register<SyntheticObserved, string>(TemplatedLeafWorker.WorkerType, _ => new TemplatedLeafWorker(null));
        _bench.Factory.Register<SyntheticObserved, string>("templated-parent", _ => new TemplatedLeafWorker(declared));

        // Pre-normalised, so applying them in the benchmark allocates nothing on the caller's side.
        _globals =
        [
            VariableValue.NormalizeMap(new Dictionary<string, object?> { ["broker"] = "broker-a.local" }),
            VariableValue.NormalizeMap(new Dictionary<string, object?> { ["broker"] = "broker-b.local" }),
        ];
        _runtime.SetGlobals(_globals[0]);
        _runtime.SetLocation(new IsaLocation("ACME", "Factory-1", Line: "Line-A"));
        _bench.Settle([new ChildSpec("p", "templated-parent", new UserSpec("", new VariableBundle(new Dictionary<string, object?> { ["PLANT"] = "x" })))], Children + 1);

        long rendersBefore = _runtime.Renderer.RenderCount;
        GlobalChangeTick();
        if (_runtime.Renderer.RenderCount - rendersBefore != Children)
        {
            throw new InvalidOperationException($"a Global change rendered {_runtime.Renderer.RenderCount - rendersBefore} templates, not {Children}");
        }

        long steady = _bench.TickAndMeasure(1_000);
        if (steady != 0)
        {
            throw new InvalidOperationException($"the steady tick allocated {steady} B over 1,000 ticks");
        }
    }

    [GlobalCleanup]
    public void CleanUp() => _bench?.Dispose();

    /// <summary>Nothing changed: the render-key check only.</summary>
    [Benchmark(Baseline = true)]
    public void SteadyTick() => _runtime.TickOnce();

    /// <summary>A Global change: 101 derives, 100 renders, 100 new desired configs.</summary>
    [Benchmark]
    public void GlobalChangeTick()
    {
        _flip ^= 1;
        _runtime.SetGlobals(_globals[_flip]);
        _runtime.TickOnce();
    }

    /// <summary>A leaf (no declaration) or the parent (a constant declaration) whose desired config is its rendered config.</summary>
    private sealed class TemplatedLeafWorker : IWorker<SyntheticObserved, string>
    {
        public const string WorkerType = "templated-leaf";

        private static readonly SyntheticObserved s_running = new(Started: true, Version: 0, Value: 0);

        private readonly IReadOnlyList<ChildSpec>? _declared;

        public TemplatedLeafWorker(IReadOnlyList<ChildSpec>? declared) => _declared = declared;

        public ValueTask<SyntheticObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken)
            => ValueTask.FromResult(s_running);

        public DerivedState<string> DeriveDesiredState(UserSpec spec)
        {
            ArgumentNullException.ThrowIfNull(spec);
            return new DerivedState<string>(SyntheticStates.ActiveState, spec.Config, _declared);
        }

        public IState<SyntheticObserved, string> GetInitialState() => SyntheticStates.Stopped.Instance;
    }
}
