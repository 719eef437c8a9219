using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Collection;

/// <summary>
/// The tick requests a collection after every action completion (40-actions §8, gate 2). With the production
/// LoopObservationScheduler that request must not allocate on the tick thread: it used to cancel the loop's wait with
/// CancellationTokenSource.CancelAsync, which allocated a Task per completion (about 64 B per action).
/// </summary>
public sealed class LoopObservationSchedulerAllocationTests
{
    [Fact]
    [Trait("spec", "A-36")]
    public async Task TickThread_ActionsCompletingWithTheLoopScheduler_Allocates0Bytes()
    {
        // arrange: the production scheduler (collector loops on the thread pool) on the system clock; 100 workers whose
        // state emits a synchronous action on every evaluation, so ticks keep draining completions and requesting
        // collections.
        var action = new CountingAction();
        var emitting = new LambdaState("emitting", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action));
        var factory = new WorkerFactory();
        factory.Register<TestObserved, string>("emitter", id => new TestWorker(id) { InitialState = emitting });
        var options = new RuntimeOptions { ActionThreads = 2, ActionTimeout = TimeSpan.FromDays(1) };
        await using var runtime = new SupervisorRuntime(factory, options, TimeProvider.System, null);
        runtime.SetConfiguration([.. Enumerable.Range(0, 100).Select(i => new ChildSpec($"w{i}", "emitter", UserSpec.Empty))]);

        // Ticks back to back until enough actions went through (bounded by 20 s of real time); warm-up first, so
        // one-off JIT and lazy-initialisation allocations stay out of the measured window.
        long RunUntil(long actions)
        {
            long deadline = Environment.TickCount64 + 20_000;
            long ticks = 0;
            while (action.Runs < actions && Environment.TickCount64 < deadline)
            {
                runtime.TickOnce();
                ticks++;
            }

            return ticks;
        }

        RunUntil(3_000);
        long runsBefore = action.Runs;
        long before = runtime.TickThreadAllocatedBytes;

        // act
        long ticks = RunUntil(runsBefore + 2_000);
        long allocated = runtime.TickThreadAllocatedBytes - before;

        // assert
        Assert.True(action.Runs - runsBefore >= 2_000, $"only {action.Runs - runsBefore} actions completed in {ticks} ticks");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task CollectionRequests_BatchedPerTick_WakeTheLoopsAtTheTicksEnd()
    {
        // arrange: an observation interval of one hour, so after the first collection only the tick's requests (one per
        // action completion, handed over by FlushRequests at the end of the tick) can bring the newer observation that
        // gate 2 needs before the worker may act again.
        var action = new CountingAction();
        var emitting = new LambdaState("emitting", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.Act(self, action));
        var factory = new WorkerFactory();
        var workers = new List<TestWorker>();
        factory.Register<TestObserved, string>("emitter", id =>
        {
            var worker = new TestWorker(id) { InitialState = emitting };
            lock (workers)
            {
                workers.Add(worker);
            }

            return worker;
        });
        var options = new RuntimeOptions
        {
            ActionThreads = 2,
            ObservationInterval = TimeSpan.FromHours(1),
            StaleThreshold = TimeSpan.FromHours(3),
            CollectorTimeout = TimeSpan.FromHours(4),
        };
        await using var runtime = new SupervisorRuntime(factory, options, TimeProvider.System, null);
        runtime.SetConfiguration([.. Enumerable.Range(0, 10).Select(i => new ChildSpec($"w{i}", "emitter", UserSpec.Empty))]);

        // act: tick until every worker collected five times (bounded by 20 s of real time): its first collection at
        // start, then one per requested collection after each of its actions.
        bool AllCollectedFiveTimes()
        {
            lock (workers)
            {
                return workers.Count == 10 && workers.All(w => w.CollectCalls >= 5);
            }
        }

        long deadline = Environment.TickCount64 + 20_000;
        while (!AllCollectedFiveTimes() && Environment.TickCount64 < deadline)
        {
            runtime.TickOnce();
            Thread.Yield();
        }

        // assert: with a one-hour interval, every collection after the first was a delivered request.
        lock (workers)
        {
            Assert.Equal(10, workers.Count);
            Assert.All(workers, w => Assert.True(w.CollectCalls >= 5, $"{w.Identity.Id} collected {w.CollectCalls} times: collection requests were not delivered"));
        }

        Assert.True(action.Runs >= 40, $"only {action.Runs} actions ran");
    }

    /// <summary>Completes synchronously and allocates nothing.</summary>
    private sealed class CountingAction : IAction
    {
        private long _runs;

        public string Kind => "count";

        public long Runs => Interlocked.Read(ref _runs);

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _runs);
            return default;
        }
    }
}
