using System.Diagnostics.Metrics;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Benchmarks.Support;

/// <summary>
/// A manual-mode runtime for benchmarks: a fake clock that never moves, no collectors, and a metrics listener
/// attached to the runtime's instruments (W1: "metrics listener attached and exporting").
/// </summary>
/// <remarks>
/// <para>
/// The clock: a <see cref="FakeTimeProvider"/> kept at one instant. Every observation published during set-up has age
/// 0 at every later tick, so the freshness gate (<see cref="RuntimeOptions.StaleThreshold"/>) and collector
/// supervision (<see cref="RuntimeOptions.CollectorTimeout"/>) never fire however long BenchmarkDotNet runs, with the
/// default options. A real clock would need both thresholds raised far past any run's length, and the steady state
/// would then depend on a setting no deployment uses; with the fixed clock every tick takes exactly the same branches.
/// Reading it costs one uncontended lock per tick (the tick reads the clock once), the same order as reading the
/// system clock.
/// </para>
/// <para>
/// Observations: set-up publishes one "process running" observation into each empty slot, as a collector would; after
/// that the benchmarks swap pre-built envelopes in themselves (W2) or leave the slots alone (W1).
/// </para>
/// </remarks>
internal sealed class BenchRuntime : IDisposable
{
    /// <summary>The fixed instant of the fake clock (the same as the unit tests' harness).</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Steady state takes a handful of ticks (Stopped → TryingToStart → Running, the reason cleared, one tick without a
    // status change); 50 is the unit tests' settle budget (SupervisorRuntimeAllocationTests), generous on purpose.
    private const int MaxSettleTicks = 50;

    private static readonly SyntheticObserved s_running = new(Started: true, Version: 0, Value: 0);

    private readonly MeterListener _listener;
    private readonly MetricsSink _sink = new();

    public BenchRuntime()
    {
        Time = new FakeTimeProvider(Epoch);
        Runtime = new SupervisorRuntime(Factory, new RuntimeOptions(), Time, loggerFactory: null, new NoCollectionScheduler());

        // Only this runtime's meter: several runtimes may share a process (in-process toolchain), and every one of
        // them names its meter "Fsm2.Edge".
        Meter meter = Runtime.Metrics.Ticks.Meter;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    listener.EnableMeasurementEvents(instrument, _sink);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, _, state) => ((MetricsSink)state!).Longs += value);
        _listener.SetMeasurementEventCallback<double>(static (_, value, _, state) => ((MetricsSink)state!).Doubles += value);
        _listener.Start();
    }

    public FakeTimeProvider Time { get; }

    public WorkerFactory Factory { get; } = new();

    public SupervisorRuntime Runtime { get; }

    /// <summary>Sum of every integer measurement the listener received (keeps the listener's work observable).</summary>
    public long MeasurementSum => _sink.Longs;

    /// <summary>
    /// Applies <paramref name="configuration"/> and ticks until every node in the tree runs and a tick changes
    /// nothing, publishing one "process running" observation into every empty slot after each tick.
    /// </summary>
    /// <param name="configuration">The top-level entries.</param>
    /// <param name="expectedNodes">Live nodes expected once settled (the root excluded).</param>
    /// <exception cref="InvalidOperationException">The tree did not settle within the budget.</exception>
    public void Settle(IReadOnlyList<ChildSpec> configuration, int expectedNodes)
    {
        Runtime.SetConfiguration(configuration);
        for (int tick = 0; tick < MaxSettleTicks; tick++)
        {
            long generation = Runtime.Status.Generation;
            Runtime.TickOnce();
            PublishFirstObservations(Runtime.Root);

            // Settled only once a tick publishes no new status: the first "stay" after a transition still clears
            // the transition's reason, which republishes the status once more.
            if (Runtime.Status.Generation == generation && IsSettled(expectedNodes))
            {
                return;
            }
        }

        RuntimeStatus status = Runtime.Status;
        string notRunning = string.Join(", ", status.Nodes.Where(n => n.State != "running").Take(5).Select(n => $"{n.Path}={n.State}"));
        throw new InvalidOperationException(
            $"the tree did not settle in {MaxSettleTicks} ticks: {status.Nodes.Count} of {expectedNodes} nodes published; not running: {notRunning}");
    }

    /// <summary>Every synthetic worker handle below the root, parents before their children.</summary>
    /// <returns>The handles, in tick order.</returns>
    public WorkerHandle<SyntheticObserved, string>[] SyntheticHandles()
    {
        var handles = new List<WorkerHandle<SyntheticObserved, string>>(Runtime.LiveWorkerCount);
        Collect(Runtime.Root, handles);
        return [.. handles];

        static void Collect(SupervisorNode node, List<WorkerHandle<SyntheticObserved, string>> into)
        {
            foreach (SupervisorNode child in node.ActiveChildren)
            {
                if (child.Worker is WorkerHandle<SyntheticObserved, string> handle)
                {
                    into.Add(handle);
                }

                Collect(child, into);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="ticks"/> ticks (with <paramref name="beforeTick"/> before each) and returns what this thread
    /// allocated meanwhile. Set-up uses it to warm up and to report a non-zero steady state early.
    /// </summary>
    /// <param name="ticks">How many ticks.</param>
    /// <param name="beforeTick">Per-tick preparation, or <see langword="null"/>.</param>
    /// <returns>Bytes allocated by this thread.</returns>
    public long TickAndMeasure(int ticks, Action? beforeTick = null)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < ticks; i++)
        {
            beforeTick?.Invoke();
            Runtime.TickOnce();
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    public void Dispose()
    {
        _listener.Dispose();
        Runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private bool IsSettled(int expectedNodes)
    {
        RuntimeStatus status = Runtime.Status;
        return Runtime.LiveWorkerCount == expectedNodes
            && status.Nodes.Count == expectedNodes
            && status.Nodes.All(n => n.State == "running");
    }

    private void PublishFirstObservations(SupervisorNode node)
    {
        foreach (SupervisorNode child in node.ActiveChildren)
        {
            if (child.Worker is WorkerHandle<SyntheticObserved, string> handle && !handle.TryGetObservation(out _, out _))
            {
                handle.PublishObservation(s_running, Time.GetUtcNow());
            }

            PublishFirstObservations(child);
        }
    }

    private sealed class MetricsSink
    {
        public long Longs;
        public double Doubles;
    }
}
