using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Fsm2.Edge.Health;
using Polly;
using Polly.CircuitBreaker;

namespace Fsm2.Edge.Benchmarks.Health;

/// <summary>
/// The per-tick cost of the infrastructure breaker struct against the Polly.Core circuit breaker
/// (shared/spec/70-performance.md §6 and §7, gate G2): a closed breaker that evaluates and stays closed, and an open
/// breaker whose trial is not due. The health evaluation itself is covered, with 20 children and 2 probes, by
/// HealthTickAllocationTests (S-13).
/// </summary>
/// <remarks>
/// <para>
/// Two categories, each with the Fsm2.Edge method as baseline: <c>Closed</c> (<see cref="ClosedCheck"/> against
/// <see cref="PollyClosedExecute"/>, a no-op <c>Execute</c> through a closed pipeline) and <c>Open</c>
/// (<see cref="OpenCheck"/> against <see cref="PollyOpenOutcome"/>, the outcome-returning, non-throwing
/// <c>ExecuteOutcomeAsync</c> on a pipeline isolated through <see cref="CircuitBreakerManualControl"/>). Because
/// Fsm2.Edge is the baseline, the <c>Ratio</c> column of a Polly row reads Polly / Fsm2.Edge; G2 asks for
/// Fsm2.Edge / Polly ≤ 0.5 in <c>Closed</c>, i.e. a Polly row Ratio of at least 2.0, and 0 B for <see cref="ClosedCheck"/>.
/// </para>
/// <para>
/// The Polly pipelines use Polly's defaults (<see cref="TimeProvider.System"/>, failure ratio 0.1 over 30 s, minimum
/// throughput 100), the way an application would build them. The Fsm2.Edge methods run <see cref="TicksPerInvoke"/>
/// ticks per invocation and report the time per tick; the Polly methods run one call per invocation. The Fsm2.Edge
/// stamps advance by one unit per tick, so no tick is optimised into a constant.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class BreakerBenchmarks
{
    private const string ClosedCategory = "Closed";
    private const string OpenCategory = "Open";

    /// <summary>
    /// Breaker ticks per invocation of the Fsm2.Edge methods: one tick (a few instructions) is below BenchmarkDotNet's
    /// resolution, so it runs in a loop and the report shows the time per tick (<c>OperationsPerInvoke</c>).
    /// </summary>
    public const int TicksPerInvoke = 64;

    // 1 s, 60 s, 60 s in 100 ns units (FakeTimeProvider's timestamp frequency); jitter 0.2; labels at 3 and 5.
    private static readonly BreakerPolicy s_policy = new(10_000_000, 600_000_000, 600_000_000, 0.2, 3, 5);

    private InfraBreaker _closed;
    private InfraBreaker _open;
    private long _now;
    private ResiliencePipeline _pollyClosed = ResiliencePipeline.Empty;
    private ResiliencePipeline _pollyOpen = ResiliencePipeline.Empty;

    [GlobalSetup]
    public void SetUp()
    {
        _closed = new InfraBreaker(0, 42);
        _open = new InfraBreaker(0, 43);
        _open.Report(healthy: false, 0, in s_policy);
        _open.NextTrialAt = long.MaxValue; // never due during the run
        _now = 1;

        _pollyClosed = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions { ManualControl = new CircuitBreakerManualControl() })
            .Build();
        var isolate = new CircuitBreakerManualControl();
        _pollyOpen = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions { ManualControl = isolate })
            .Build();
        isolate.IsolateAsync().GetAwaiter().GetResult();

        if (ClosedCheck() != TicksPerInvoke || OpenCheck() != 0 || !PollyClosedExecute() || PollyOpenOutcome())
        {
            throw new InvalidOperationException("a breaker is not in the state its benchmark assumes");
        }
    }

    /// <summary>
    /// G2, Fsm2.Edge: <see cref="TicksPerInvoke"/> ticks of a healthy node, each BeginTick, then Report(healthy); the
    /// time is per tick.
    /// </summary>
    /// <returns>The ticks on which the node was evaluated and stayed closed (all of them).</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = TicksPerInvoke)]
    [BenchmarkCategory(ClosedCategory)]
    public int ClosedCheck()
    {
        int closed = 0;
        for (int i = 0; i < TicksPerInvoke; i++)
        {
            closed += TickClosed() ? 1 : 0;
        }

        return closed;
    }

    /// <summary>G2, Polly.Core: a no-op <c>Execute</c> through the closed circuit breaker.</summary>
    /// <returns><see langword="true"/> (the callback ran).</returns>
    [Benchmark]
    [BenchmarkCategory(ClosedCategory)]
    public bool PollyClosedExecute()
    {
        _pollyClosed.Execute(static () => { });
        return true;
    }

    /// <summary>Fsm2.Edge: <see cref="TicksPerInvoke"/> ticks of an open node before its trial, BeginTick only; the time is per tick.</summary>
    /// <returns>The ticks on which the node was evaluated (none).</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = TicksPerInvoke)]
    [BenchmarkCategory(OpenCategory)]
    public int OpenCheck()
    {
        int evaluated = 0;
        for (int i = 0; i < TicksPerInvoke; i++)
        {
            evaluated += TickOpen() ? 1 : 0;
        }

        return evaluated;
    }

    /// <summary>
    /// Polly.Core: <c>ExecuteOutcomeAsync</c> on the isolated circuit with a pooled context; the rejection comes back as
    /// an outcome carrying <see cref="IsolatedCircuitException"/> instead of being thrown. Completes synchronously.
    /// </summary>
    /// <returns><see langword="false"/>: the callback did not run.</returns>
    [Benchmark]
    [BenchmarkCategory(OpenCategory)]
    public bool PollyOpenOutcome()
    {
        ResilienceContext context = ResilienceContextPool.Shared.Get();
        ValueTask<Outcome<bool>> pending = _pollyOpen
            .ExecuteOutcomeAsync(static (_, _) => Outcome.FromResultAsValueTask(true), context, 0);
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the open circuit's outcome did not complete synchronously");
        }

        Outcome<bool> outcome = pending.Result;
        ResilienceContextPool.Shared.Return(context);
        return outcome.Exception is null && outcome.Result;
    }

    /// <summary>One tick of the healthy node: BeginTick, then Report(healthy).</summary>
    /// <returns><see langword="true"/>: the node was evaluated and stayed closed.</returns>
    internal bool TickClosed()
    {
        long now = ++_now;
        return _closed.BeginTick(now) && _closed.Report(healthy: true, now, in s_policy) == BreakerEvent.None;
    }

    /// <summary>One tick of the open node before its trial: BeginTick only.</summary>
    /// <returns><see langword="false"/>: the node is not evaluated.</returns>
    internal bool TickOpen() => _open.BeginTick(++_now);
}
