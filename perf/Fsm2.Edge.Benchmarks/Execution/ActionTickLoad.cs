using System.Diagnostics;
using System.Globalization;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Benchmarks.Execution;

/// <summary>
/// <c>Program --a36</c>: A-36's second bullet (shared/spec/40-actions.md) — with 1,000 workers whose actions complete
/// synchronously and are re-emitted continuously, the executor's tick-side work (enqueues, completion drain, stuck
/// scan) per tick. The tick cannot time its executor part from outside, so two trees of 1,000 workers run the same
/// ticks on the system clock: "emitting" (every evaluation returns an action) and "quiet" (every evaluation stays put,
/// no action); the executor's share is the difference of their per-tick times. Both collect every worker before each
/// tick, so Next runs for all 1,000 in both trees, and before each measured tick (untimed) the loop waits until every
/// action of the previous tick has completed, so each tick drains and re-enqueues all 1,000: the worst case of
/// "re-emitted continuously". A third loop replays only the executor's calls of TickCore on 1,000 slots.
/// </summary>
internal static class ActionTickLoad
{
    private const int Workers = 1_000;
    private const int WarmUpTicks = 1_000;
    private const int Ticks = 2_000;

    public static int Run()
    {
        if (Environment.GetEnvironmentVariable("FSM2_A36_EXECUTOR_ONLY") == "1")
        {
            return RunExecutorSide(1_000_000.0 / Stopwatch.Frequency);
        }

        (long[] quiet, long quietBytes, long quietActions) = Measure(emit: false);
        (long[] emitting, long emittingBytes, long emittingActions) = Measure(emit: true);
        double usPerTick = 1_000_000.0 / Stopwatch.Frequency;
        string F(long[] sorted, double p) => Us(sorted, p, usPerTick);

        Console.WriteLine("## A-36: tick with 1,000 workers re-emitting synchronous actions (ring executor, 2 action threads)");
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- {Ticks} measured ticks after {WarmUpTicks} warm-up ticks; every worker collected before each tick (ManualObservationScheduler); system clock; µs per tick, nearest-rank percentiles"));
        Console.WriteLine();
        Console.WriteLine("| Tree | p50 | p90 | p99 | max | actions run | tick-thread B |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| quiet (no actions) | {F(quiet, 0.5)} | {F(quiet, 0.9)} | {F(quiet, 0.99)} | {F(quiet, 1.0)} | {quietActions} | {quietBytes} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| emitting | {F(emitting, 0.5)} | {F(emitting, 0.9)} | {F(emitting, 0.99)} | {F(emitting, 1.0)} | {emittingActions} | {emittingBytes} |"));
        double shareP50 = (ExecutorLatency.Percentile(emitting, 0.5) - ExecutorLatency.Percentile(quiet, 0.5)) * usPerTick;
        double shareP99 = (ExecutorLatency.Percentile(emitting, 0.99) - ExecutorLatency.Percentile(quiet, 0.99)) * usPerTick;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"executor share per tick (emitting − quiet): p50 {shareP50:F1} µs, p99 {shareP99:F1} µs; actions per tick {(double)emittingActions / Ticks:F0}"));

        return RunExecutorSide(usPerTick);
    }

    /// <summary>
    /// The executor's tick-side work alone, as A-36 words it: the same 1,000 slots, the same action threads, and a
    /// "tick" that is only the executor's part of TickCore (drain, stuck scan, one enqueue per idle slot, wake).
    /// </summary>
    private static int RunExecutorSide(double usPerTick)
    {
        string F(long[] sorted, double p) => Us(sorted, p, usPerTick);
        int threads = ThreadCount();
        (long[] replay, long replayBytes, long replayActions) = MeasureExecutorSide(threads);
        double perAction = ExecutorLatency.Percentile(replay, 0.5) * usPerTick * Ticks / Math.Max(1, replayActions);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"### Executor tick-side work only (drain + stuck scan + enqueues + wake), {threads} action threads"));
        Console.WriteLine();
        Console.WriteLine("| Loop | p50 | p90 | p99 | max | actions run | tick-thread B |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| ring executor | {F(replay, 0.5)} | {F(replay, 0.9)} | {F(replay, 0.99)} | {F(replay, 1.0)} | {replayActions} | {replayBytes} |"));
        (long[] peer, long peerBytes, long peerActions) = MeasureExecutorSide(threads, ExecutorKind.Channel);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| Channels executor (peer baseline) | {F(peer, 0.5)} | {F(peer, 0.9)} | {F(peer, 0.99)} | {F(peer, 1.0)} | {peerActions} | {peerBytes} |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"executor tick-side work: p99 {ExecutorLatency.Percentile(replay, 0.99) * usPerTick:F1} µs per tick (budget 50 µs), actions per tick {(double)replayActions / Ticks:F0}, ≈ {perAction * 1000:F0} ns per action at p50; ring/Channels p50 ratio {(double)ExecutorLatency.Percentile(replay, 0.5) / ExecutorLatency.Percentile(peer, 0.5):F2}"));
        return 0;
    }

    /// <summary>
    /// Between ticks, untimed: waits until the action threads completed everything enqueued and, for the ring executor,
    /// went idle (parked after their bounded spin) — as they are when a tick starts in production, where ticks are at
    /// least a millisecond apart and a synchronous action takes microseconds. Without this the next tick would start
    /// while the threads still spin on the ring, and each enqueue would race a consumer for the same cache lines.
    /// The Channels executor's consumers idle in an await, so they need no such wait.
    /// </summary>
    private static void WaitIdle(IActionExecutor executor)
    {
        var spinner = default(SpinWait);
        while (executor.Outstanding > 0)
        {
            spinner.SpinOnce();
        }

        if (executor is RingActionExecutor ring)
        {
            long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
            while (ring.ParkedThreads < ring.LiveThreads && Stopwatch.GetTimestamp() < deadline)
            {
                spinner.SpinOnce();
            }
        }
    }

    /// <summary>The <paramref name="p"/> percentile of sorted timestamps, in µs with one decimal.</summary>
    private static string Us(long[] sorted, double p, double usPerTick)
        => (ExecutorLatency.Percentile(sorted, p) * usPerTick).ToString("F1", CultureInfo.InvariantCulture);

    private static int ThreadCount() => int.TryParse(Environment.GetEnvironmentVariable("FSM2_A36_THREADS"), out int t) ? t : 2;

    internal static (long[] Sorted, long Bytes, long Actions) MeasureExecutorSide(int threads, ExecutorKind kind = ExecutorKind.Ring)
    {
        using var metrics = new Observability.EdgeMetrics(null);
        IActionExecutor executor = ExecutorSetup.Create(kind, threads, metrics);
        executor.Start();
        var action = new CountingAction();
        var slots = new ActionSlot[Workers];
        var contexts = new ActionContext[Workers];
        for (int i = 0; i < Workers; i++)
        {
            slots[i] = new ActionSlot($"w{i}");
            contexts[i] = ExecutorSetup.Context($"w{i}");
        }

        void Tick()
        {
            // TickCore's order: completions first, then the stuck scan, then the tree's enqueues, then one wake.
            ExecutorSetup.Drain(executor);
            int cursor = 0;
            while (executor.TryGetRunning(ref cursor, out RunningAction running))
            {
                _ = running.Slot;
            }

            for (int i = 0; i < slots.Length; i++)
            {
                ActionSlot slot = slots[i];
                if (!slot.InFlight)
                {
                    executor.TryEnqueue(slot, action, in contexts[i]);
                }
            }

            executor.FlushWakeups();
        }

        try
        {
            for (int i = 0; i < WarmUpTicks; i++)
            {
                Tick();
            }

            var durations = new long[Ticks];
            long actionsBefore = action.Runs;
            long bytesBefore = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Ticks; i++)
            {
                WaitIdle(executor);
                long t0 = Stopwatch.GetTimestamp();
                Tick();
                durations[i] = Stopwatch.GetTimestamp() - t0;
            }

            long bytes = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
            long actions = action.Runs - actionsBefore;
            Array.Sort(durations);
            return (durations, bytes, actions);
        }
        finally
        {
            executor.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static (long[] Sorted, long Bytes, long Actions) Measure(bool emit)
    {
        var scheduler = new ManualObservationScheduler(TimeProvider.System);
        var factory = new WorkerFactory();
        var action = new CountingAction();
        IState<LoadObserved, string> state = emit ? new EmittingState(action) : new QuietState();
        factory.Register<LoadObserved, string>("load", _ => new LoadWorker(state));
        int threads = ThreadCount();
        var options = new RuntimeOptions { ActionThreads = threads, ActionTimeout = TimeSpan.FromDays(1) };
        // FSM2_A36_LOOP=1: the production collector scheduler (collections on their own loops; the tick only requests
        // them after completions), to see what that request costs the tick thread.
        bool loop = Environment.GetEnvironmentVariable("FSM2_A36_LOOP") == "1";
        var runtime = loop
            ? new SupervisorRuntime(factory, options, TimeProvider.System, null)
            : new SupervisorRuntime(factory, options, TimeProvider.System, null, scheduler);
        try
        {
            return MeasureTicks(runtime, scheduler, action);
        }
        finally
        {
            runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static (long[] Sorted, long Bytes, long Actions) MeasureTicks(SupervisorRuntime runtime, ManualObservationScheduler scheduler, CountingAction action)
    {
        runtime.SetConfiguration(Enumerable.Range(0, Workers).Select(i => new ChildSpec($"w{i}", "load", UserSpec.Empty)).ToArray());

        void Tick()
        {
            foreach (Collector collector in scheduler.Collectors)
            {
                scheduler.RequestCollection(collector);
            }

            scheduler.RunDue();
            runtime.TickOnce();
        }

        for (int i = 0; i < WarmUpTicks; i++)
        {
            Tick();
        }

        var durations = new long[Ticks];
        long actionsBefore = action.Runs;
        long bytesBefore = runtime.TickThreadAllocatedBytes;
        for (int i = 0; i < Ticks; i++)
        {
            // The collections are part of the measured loop's set-up, not of the tick.
            foreach (Collector collector in scheduler.Collectors)
            {
                scheduler.RequestCollection(collector);
            }

            // Untimed: every action of the previous tick has completed, so this tick drains and re-enqueues all of them.
            WaitIdle(runtime.Executor);
            scheduler.RunDue();
            long t0 = Stopwatch.GetTimestamp();
            runtime.TickOnce();
            durations[i] = Stopwatch.GetTimestamp() - t0;
        }

        long bytes = runtime.TickThreadAllocatedBytes - bytesBefore;
        long actions = action.Runs - actionsBefore;
        Array.Sort(durations);
        return (durations, bytes, actions);
    }

    private sealed class LoadObserved
    {
        public static readonly LoadObserved Instance = new();
    }

    private sealed class LoadWorker(IState<LoadObserved, string> state) : IWorker<LoadObserved, string>
    {
        public ValueTask<LoadObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken) => ValueTask.FromResult<LoadObserved>(LoadObserved.Instance);

        public DerivedState<string> DeriveDesiredState(UserSpec spec) => new("running", "", null);

        public IState<LoadObserved, string> GetInitialState() => state;
    }

    private sealed class EmittingState(IAction action) : IState<LoadObserved, string>
    {
        public string Name => "emitting";

        public Transition<LoadObserved, string> Next(in Snapshot<LoadObserved, string> snapshot)
            => snapshot.ShutdownRequested ? Transition.Emit(this, Signal.NeedsRemoval) : Transition.Act(this, action);
    }

    private sealed class QuietState : IState<LoadObserved, string>
    {
        public string Name => "quiet";

        public Transition<LoadObserved, string> Next(in Snapshot<LoadObserved, string> snapshot)
            => snapshot.ShutdownRequested ? Transition.Emit(this, Signal.NeedsRemoval) : Transition.To(this);
    }

    private sealed class CountingAction : IAction
    {
        private long _runs;

        public string Kind => "load";

        public long Runs => Interlocked.Read(ref _runs);

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _runs);
            return default;
        }
    }
}
