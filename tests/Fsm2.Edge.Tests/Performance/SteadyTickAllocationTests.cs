using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Tests.Performance;

/// <summary>
/// 70-performance §12 PF-01 and PF-02, the deterministic allocation checks of §8.1: the shared synthetic workload
/// (<see cref="SyntheticTree"/>, N = 1,000: 1 root + 10 parents + 989 leaves) ticked with <see cref="SupervisorRuntime.TickOnce"/>
/// on the test thread, with a metrics listener attached and an exporter thread reading the observable instruments
/// meanwhile. Run in Release (CI does), so the bytes describe optimised code.
/// </summary>
public sealed class SteadyTickAllocationTests
{
    private const int Workers = 1_000;
    private const int WarmUpTicks = 1_000;
    private const int MeasuredTicks = 10_000;

    // The exporter's pace; the production default is seconds, a shorter one puts many exports beside the measured ticks.
    private static readonly TimeSpan s_exportInterval = TimeSpan.FromMilliseconds(5);

    [Fact]
    [Trait("spec", "PF-01")]
    public async Task PF01_W1QuiescentTree1000Workers_ListenerAttached_10000TicksAllocateExactly0Bytes()
    {
        // arrange: W1 settled, listener attached and exporting, 1,000 warm-up ticks.
        await using var harness = new Harness();
        using var metrics = new RuntimeMetricsListener(harness.Runtime);
        SettleW1(harness);
        metrics.StartExporting(s_exportInterval);
        Tick(harness.Runtime, WarmUpTicks);
        long tickDurationsBefore = metrics.TickDurations;
        long transitionsBefore = metrics.StateTransitions;
        RuntimeStatus status = harness.Runtime.Status;

        // act
        long before = GC.GetAllocatedBytesForCurrentThread();
        Tick(harness.Runtime, MeasuredTicks);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        metrics.StopExporting();

        // assert: 0 B exactly, with the listener really receiving every tick's measurement and exports running.
        Assert.Equal(0, allocated);
        Assert.Equal(MeasuredTicks, metrics.TickDurations - tickDurationsBefore);
        Assert.True(metrics.Exports > 1, $"{metrics.Exports} exports");
        Assert.Equal(transitionsBefore, metrics.StateTransitions);
        Assert.Same(status, harness.Runtime.Status);
        Assert.Equal(Workers - 1, harness.Runtime.LiveWorkerCount);
    }

    [Fact]
    [Trait("spec", "PF-02")]
    public async Task PF02_W2NewObservationEveryTickThatChangesNoState_10000TicksAllocate0BytesAndNoNodeChangesState()
    {
        // arrange: W1 settled; two pre-built envelopes per slot, alternated, so every tick reads an observation object
        // it did not see on the previous tick (as TickBenchmarks.SteadyObserved does; benchmarks start no collectors).
        await using var harness = new Harness();
        using var metrics = new RuntimeMetricsListener(harness.Runtime);
        SettleW1(harness);
        WorkerHandle<SyntheticObserved, string>[] handles = SyntheticHandles(harness.Runtime.Root);
        Observation<SyntheticObserved>[][] rounds = PrebuiltObservations(harness, handles);
        metrics.StartExporting(s_exportInterval);
        for (int i = 0; i < WarmUpTicks; i++)
        {
            Publish(handles, rounds[i & 1]);
            harness.Runtime.TickOnce();
        }

        long transitionsBefore = metrics.StateTransitions;
        long tickBytesBefore = harness.Runtime.TickThreadAllocatedBytes;
        RuntimeStatus status = harness.Runtime.Status;

        // act
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < MeasuredTicks; i++)
        {
            Publish(handles, rounds[i & 1]);
            harness.Runtime.TickOnce();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        metrics.StopExporting();

        // assert: 0 B on the ticking thread (observation swaps included) and by the tick's own count; no transition.
        Assert.Equal(0, allocated);
        Assert.Equal(0, harness.Runtime.TickThreadAllocatedBytes - tickBytesBefore);
        Assert.Equal(transitionsBefore, metrics.StateTransitions);
        Assert.Same(status, harness.Runtime.Status);
        Assert.All(status.Nodes, n => Assert.Equal("running", n.State));

        // control: the slots the loop fed are the ones the tick reads. An observation that does change state (the
        // process stopped) moves its worker out of "running" on the next tick.
        WorkerHandle<SyntheticObserved, string> last = handles[^1];
        last.PublishObservation(new Observation<SyntheticObserved>(new SyntheticObserved(Started: false, 0, 0), harness.Time.GetUtcNow(), long.MaxValue));
        harness.Runtime.TickOnce();
        Assert.Equal(transitionsBefore + 1, metrics.StateTransitions);
        Assert.NotEqual("running", harness.Runtime.Status.Find(last.Identity.Id)?.State);
    }

    /// <summary>Applies the W1 tree and steps (collections, then a tick) until every node runs and a tick changes nothing.</summary>
    internal static void SettleW1(Harness harness, IReadOnlyList<ChildSpec>? top = null)
    {
        top ??= SyntheticTree.Register(harness.Factory, Workers);
        harness.Runtime.SetConfiguration(top);
        for (int i = 0; i < 50; i++)
        {
            long generation = harness.Runtime.Status.Generation;
            harness.Step();
            if (harness.Runtime.Status.Generation == generation
                && harness.Runtime.LiveWorkerCount == Workers - 1
                && harness.Runtime.Status.Nodes.All(n => n.State == "running"))
            {
                return;
            }
        }

        Assert.Fail($"W1 did not settle in 50 ticks: {harness.Runtime.LiveWorkerCount} live workers, "
            + $"{harness.Runtime.Status.Nodes.Count(n => n.State == "running")} running");
    }

    private static void Tick(SupervisorRuntime runtime, int ticks)
    {
        for (int i = 0; i < ticks; i++)
        {
            runtime.TickOnce();
        }
    }

    private static void Publish(WorkerHandle<SyntheticObserved, string>[] handles, Observation<SyntheticObserved>[] next)
    {
        for (int i = 0; i < handles.Length; i++)
        {
            handles[i].PublishObservation(next[i]);
        }
    }

    private static Observation<SyntheticObserved>[][] PrebuiltObservations(Harness harness, WorkerHandle<SyntheticObserved, string>[] handles)
    {
        Observation<SyntheticObserved>[][] rounds = [new Observation<SyntheticObserved>[handles.Length], new Observation<SyntheticObserved>[handles.Length]];
        DateTimeOffset now = harness.Time.GetUtcNow();
        for (int i = 0; i < handles.Length; i++)
        {
            Assert.True(handles[i].TryGetObservation(out _, out long sequence));
            for (int r = 0; r < rounds.Length; r++)
            {
                long next = sequence + r + 1;
                rounds[r][i] = new Observation<SyntheticObserved>(new SyntheticObserved(Started: true, next, next), now, next);
            }
        }

        return rounds;
    }

    private static WorkerHandle<SyntheticObserved, string>[] SyntheticHandles(SupervisorNode root)
    {
        var handles = new List<WorkerHandle<SyntheticObserved, string>>();
        Collect(root, handles);
        Assert.Equal(Workers - 1, handles.Count);
        return [.. handles];

        static void Collect(SupervisorNode node, List<WorkerHandle<SyntheticObserved, string>> into)
        {
            foreach (SupervisorNode child in node.ActiveChildren)
            {
                into.Add(Assert.IsType<WorkerHandle<SyntheticObserved, string>>(child.Worker));
                Collect(child, into);
            }
        }
    }
}
