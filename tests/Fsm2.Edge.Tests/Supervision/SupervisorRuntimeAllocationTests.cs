using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>
/// The zero-allocation contract of the tick (§4.6): measured with GC.GetAllocatedBytesForCurrentThread on the thread
/// that ticks. Run in Release (the CI does) so the numbers describe optimised code.
/// </summary>
public sealed class SupervisorRuntimeAllocationTests
{
    [Fact]
    public async Task TickThread_SteadyStateSingleWorker_Allocates0BytesOver10000Ticks()
    {
        // arrange: a started runtime on a fake clock; one synthetic worker whose process already runs.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var scheduler = new ManualObservationScheduler(time);
        var factory = new WorkerFactory();
        factory.Register<SyntheticObserved, string>("synthetic", _ => new SyntheticWorker(null, startedInitially: true));
        // ShutdownBudget: the drain below advances the fake clock as fast as the tick thread ticks, while the stop
        // action runs on a real action thread; 8 s of fake time (80 ticks) can pass before that thread is scheduled
        // on a loaded machine. A long fake budget keeps the drain's Clean assertion about the drain, not about timing.
        var options = new RuntimeOptions { TickInterval = TimeSpan.FromMilliseconds(100), ShutdownBudget = TimeSpan.FromMinutes(10) };
        await using var runtime = new SupervisorRuntime(factory, options, time, null, scheduler);
        runtime.SetConfiguration([new ChildSpec("w", "synthetic", new UserSpec(SyntheticStates.ActiveState))]);
        runtime.Start();

        void TickOnceOnTheTickThread()
        {
            long before = runtime.TickCount;
            time.Advance(options.TickInterval);
            Wait.Until(() => runtime.TickCount > before, "the tick thread to tick");
        }

        // Warm up until the worker runs, refreshing observations as the collector would (on this thread).
        TickOnceOnTheTickThread();
        for (int i = 0; i < 1_000; i++)
        {
            scheduler.RunDue();
            TickOnceOnTheTickThread();
        }

        Assert.Equal("running", runtime.Status.Find("w")?.State);

        // act: 10,000 steady ticks; collections keep the data fresh but allocate on this thread, not the tick thread.
        long allocatedBefore = runtime.TickThreadAllocatedBytes;
        long ticksBefore = runtime.TickCount;
        for (int i = 0; i < 10_000; i++)
        {
            if (i % 10 == 0)
            {
                scheduler.RunDue();
            }

            TickOnceOnTheTickThread();
        }

        long allocated = runtime.TickThreadAllocatedBytes - allocatedBefore;

        // assert
        Assert.True(runtime.TickCount - ticksBefore >= 10_000);
        Assert.Equal(0, allocated);
        Assert.Equal("running", runtime.Status.Find("w")?.State);

        // The drain needs ticks, and ticks need the fake clock to move.
        Task<ShutdownResult> shutdown = runtime.ShutdownAsync();
        while (!shutdown.IsCompleted && runtime.IsStarted && !runtime.Completion.IsCompleted)
        {
            // Count from before this advance: the clock must not run ahead of the tick thread, or the fake
            // shutdown budget expires before the drain has had its ticks.
            scheduler.RunDue();
            long before = runtime.TickCount;
            time.Advance(options.TickInterval);
            Wait.Until(() => shutdown.IsCompleted || runtime.TickCount > before, "a tick during the drain");
        }

        ShutdownResult result = await Wait.For(shutdown, "the drain");
        Assert.True(result.Clean);
    }

    [Fact]
    [Trait("spec", "C-18")]
    public async Task C18_SteadyState1000WorkerTree_Allocates0BytesAndKeepsStatus()
    {
        // arrange: the W1 tree (1 root + 10 parents + 989 leaves) in manual mode.
        await using var harness = new Harness();
        IReadOnlyList<ChildSpec> top = SyntheticTree.Register(harness.Factory, 1_000);
        harness.Runtime.SetConfiguration(top);
        for (int i = 0; i < 50; i++)
        {
            harness.Step();
        }

        Assert.Equal(999, harness.Runtime.LiveWorkerCount);
        Assert.All(harness.Runtime.Status.Nodes, n => Assert.Equal("running", n.State));
        RuntimeStatus status = harness.Runtime.Status;

        // act: 1,000 warm-up ticks, then 10,000 measured ticks on this (the ticking) thread.
        for (int i = 0; i < 1_000; i++)
        {
            harness.Runtime.TickOnce();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            harness.Runtime.TickOnce();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // assert
        Assert.Equal(0, allocated);
        Assert.Same(status, harness.Runtime.Status);
    }
}
