using Fsm2.Edge.Execution;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Performance;

/// <summary>
/// 70-performance §12 PF-08 (seed ceiling S4, 40-actions §7) through the tick path: a manual-mode runtime on the
/// <see cref="ManualObservationScheduler"/> harness, one action thread held by a blocking action and a ring of 16 filled
/// by 16 more workers' actions, then one further worker whose action the tick cannot enqueue.
/// </summary>
/// <remarks>
/// "Within B4" (200 ns) is a wall-clock figure a unit test does not assert; B4 is measured by <c>Program --latency</c>
/// (perf/results/bench/x64-epyc-2vcpu/ExecutorLatency.md). What this test pins is the behaviour behind it: the refusing
/// tick returns while the action thread stays blocked and the ring stays full (it is run on another thread with a
/// bounded wait, so a blocking enqueue fails the test instead of hanging it).
/// </remarks>
public sealed class QueueFullTests
{
    private const int Capacity = 16;
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(100);

    [Fact]
    [Trait("spec", "PF-08")]
    public async Task PF08_FullRing_TickEnqueueRefusedAtOnce_QueueFullCountedOnce_ActionRetriedOnALaterTick()
    {
        // arrange: 1 action thread, ring capacity 16. Every worker acts once: its action, then idle after a completion.
        var hold = new TestAction("hold") { Block = true };
        var probe = new TestAction("probe");
        var harness = new Harness(new RuntimeOptions { ActionThreads = 1, ActionQueueCapacity = Capacity, ActionBackoffJitter = 0 });
        await using (harness)
        {
            using var metrics = new RuntimeMetricsListener(harness.Runtime);
            harness.Register("holder", w => w.InitialState = ActOnce(hold));
            harness.Register("prober", w => w.InitialState = ActOnce(probe));
            ChildSpec[] holders = [.. Enumerable.Range(0, Capacity + 1).Select(i => Harness.Spec($"h{i:00}", "holder"))];

            // The first holder's action occupies the only action thread ...
            harness.Configure(holders[0]);
            StepUntil(harness, () => InFlight(harness, "h00"), "the first holder's action to be enqueued");
            Wait.Until(() => hold.Starts == 1, "the first holder's action to start");

            // ... and 16 more fill the ring.
            harness.Configure(holders);
            StepUntil(harness, () => holders.All(h => InFlight(harness, h.Name)), "every holder to be in flight");
            Assert.Equal(Capacity, harness.Runtime.Executor.QueueDepth);
            Assert.Equal(0, metrics.QueueFull);
            long refusalsBefore = Assert.IsType<RingActionExecutor>(harness.Runtime.Executor).QueueFullRefusals;

            // act 1: a further worker's action reaches the full ring.
            harness.Configure([.. holders, Harness.Spec("probe", "prober")]);
            for (int i = 0; i < 5 && metrics.QueueFull == 0; i++)
            {
                await Task.Run(() => harness.AdvanceAndStep(s_tick)).WaitAsync(Wait.DefaultTimeout);
            }

            // assert 1: refused once (by the ring, not for lack of an envelope), counted once, nothing changed for the
            // worker: not in flight, no backoff charged; the ring still full and the action thread still held.
            ActionSlot slot = harness.Node("probe").ActionSlot;
            Assert.Equal(1, metrics.QueueFull);
            Assert.Equal(refusalsBefore + 1, ((RingActionExecutor)harness.Runtime.Executor).QueueFullRefusals);
            Assert.False(slot.InFlight);
            Assert.Equal(0, slot.Status.RetryNotBefore);
            Assert.Equal(0, probe.Starts);
            Assert.Equal(1, hold.Starts);
            Assert.Equal(Capacity, harness.Runtime.Executor.QueueDepth);

            // act 2: the ring drains once the blocked actions are released; a later tick returns the action again.
            hold.Release();
            Wait.Until(() => hold.Ends == Capacity + 1, "the holders' actions to end");
            StepUntil(harness, () => slot.InFlight || slot.Status.LastKind is not null, "the probe's action to be enqueued");
            Wait.Until(() => probe.Ends == 1, "the probe's action to run");
            StepUntil(harness, () => slot.Status.LastKind is not null, "the probe's completion to be applied");

            // assert 2: retried on a later tick and executed; that enqueue found room, so no further refusal is counted.
            Assert.Equal(1, probe.Starts);
            Assert.Equal(1, metrics.QueueFull);
            Assert.Equal("probe", slot.Status.LastKind);
            Assert.Equal(ActionOutcome.Success, slot.Status.LastOutcome);
        }
    }

    /// <summary>Returns <paramref name="action"/> until one completion of it was accepted, then stays.</summary>
    private static LambdaState ActOnce(TestAction action)
        => new("acting", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval)
            : s.Action.LastKind is null ? Transition.Act(self, action)
            : Transition.To(self));

    private static bool InFlight(Harness harness, string path) => harness.Runtime.FindNode(path)?.ActionSlot.InFlight == true;

    /// <summary>Advances the clock and steps (collections, then a tick) until <paramref name="done"/>, at most 20 times.</summary>
    private static void StepUntil(Harness harness, Func<bool> done, string what)
    {
        for (int i = 0; i < 20 && !done(); i++)
        {
            harness.AdvanceAndStep(s_tick);
        }

        Assert.True(done(), $"20 ticks without {what}");
    }
}
