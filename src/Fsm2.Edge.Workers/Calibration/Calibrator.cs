using System.Diagnostics.Metrics;
using System.Runtime;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Config;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Workers.Calibration;

/// <summary>
/// The measurement engine of <c>fsm2-edge calibrate</c> (50-runtime-monitoring §11.3): judges whether this machine can
/// run a hardware profile, in-process.
/// </summary>
/// <remarks>
/// <para>
/// Everything runs on one dedicated thread (<c>fsm2-calibrate</c>) with the profile's <c>tick.thread_priority</c>
/// (an OS that refuses a raised priority without privileges keeps Normal; the applied value is reported). On it: the
/// W1 tree of <see cref="SyntheticTree"/> with <c>calibration.workers</c> nodes in a manual-mode
/// <see cref="SupervisorRuntime"/> configured from the profile (<see cref="HardwareProfileLoader.ApplyTo"/>), manual
/// observation scheduling, a metrics listener attached to the runtime's meter, and a frozen runtime clock (see
/// <see cref="FrozenClock"/>); the tree is settled (all nodes <c>running</c>, a tick that changes nothing), then warmed up
/// (at least <c>warmup_ticks</c> ticks and at least <see cref="MinWarmupTime"/>, with a leaf change before every 10th tick
/// so the change path is compiled too, then 20 ticks without a change), then one forced, blocking, compacting full GC,
/// then:
/// </para>
/// <list type="number">
/// <item><description>Steady: <c>ticks</c> ticks back to back; per-tick duration, bytes the thread allocated, GC counts.</description></item>
/// <item><description>Change: <c>ticks</c> more ticks; before every 10th, one leaf's user spec changes
/// (<see cref="SyntheticWorkload.ChangeLeaf"/>): re-derive and re-render. Only the ticks that apply a change are summarised.</description></item>
/// <item><description>Timer: ticks at the profile's interval for <see cref="CalibrationSettings.TimerDuration"/> (at least
/// <see cref="MinTimerTicks"/> ticks); each tick's schedule is start + k × interval, a one-shot timer of the measuring clock
/// sets an event at that moment, and lateness is the wake-up time minus the schedule (a tick that overran makes the next
/// one late, as on the real tick thread).</description></item>
/// <item><description>Ring (informational): a second runtime with the profile's ring capacity and action threads and up
/// to 64 flat workers that each ask for a no-op action whenever they are free to act. The public API does not expose the
/// executor's <c>TryEnqueue</c> alone, so the figure is the tick's duration divided by the actions it enqueued: one
/// worker's <c>Next</c>, one <c>TryEnqueue</c>, one completion drained and the tick's single wake-up amortised, per
/// action. It is an upper bound of the enqueue itself.</description></item>
/// </list>
/// <para>Durations are read from <see cref="CalibrationSettings.Clock"/> around each <see cref="SupervisorRuntime.TickOnce"/>.</para>
/// </remarks>
public static class Calibrator
{
    /// <summary>The fewest ticks of the timer phase.</summary>
    public const int MinTimerTicks = 2;

    /// <summary>The change phase changes one leaf before every this-many-th tick.</summary>
    public const int ChangeEvery = 10;

    private const int MaxSettleTicks = 50;

    // Ticks without a change that end the warm-up (the last change's status publication and any follow-up settle).
    private const int SettleAfterChangeTicks = 2 * ChangeEvery;
    private const int RingWorkers = 64;
    private const int RingWarmupTicks = 20;

    // The runtime's meter name (Observability.EdgeMetrics.MeterName, internal to Fsm2.Edge).
    private const string MeterName = "Fsm2.Edge";

    private static readonly TimeSpan s_idleTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The shortest warm-up (70-performance §1.5: budgets apply once tiered JIT has promoted the hot methods). Tier-1
    /// promotion waits for a quiet 100 ms of tier-0 activity, then 30 calls, then a background compile: a tick count alone
    /// (200 ticks take about 50 ms on an x64 server) can end the warm-up while the tick still runs tier-0 code.
    /// </summary>
    public static TimeSpan MinWarmupTime { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Measures, then judges the numbers against <paramref name="profile"/> and <paramref name="candidates"/>.</summary>
    /// <param name="profile">The profile to judge against.</param>
    /// <param name="settings">Overrides of the profile's <c>calibration</c> section; <see langword="null"/> takes them all.</param>
    /// <param name="candidates">Profiles to list as satisfied (usually every profile found); <see langword="null"/>: only <paramref name="profile"/>.</param>
    /// <param name="cancellationToken">Checked between ticks.</param>
    /// <returns>The result with its verdict.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range (ticks and warm-up ≥ 1, workers ≥ 2).</exception>
    /// <exception cref="InvalidOperationException">The synthetic tree did not settle, or actions did not complete within 10 s.</exception>
    public static CalibrationResult Run(HardwareProfile profile, CalibrationSettings? settings = null, IEnumerable<HardwareProfile>? candidates = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        settings ??= new CalibrationSettings();
        int workers = settings.Workers ?? profile.Calibration.Workers;
        int ticks = settings.Ticks ?? profile.Calibration.Ticks;
        int warmup = settings.WarmupTicks ?? profile.Calibration.WarmupTicks;
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 2, nameof(settings.Workers));
        ArgumentOutOfRangeException.ThrowIfLessThan(ticks, 1, nameof(settings.Ticks));
        ArgumentOutOfRangeException.ThrowIfLessThan(warmup, 1, nameof(settings.WarmupTicks));
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.RingTicks, 1, nameof(settings.RingTicks));

        CalibrationMeasurements? measured = null;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                measured = Measure(profile, settings, workers, ticks, warmup, cancellationToken);
            }
#pragma warning disable CA1031 // Rethrown on the calling thread below, with its original stack.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
        })
        {
            Name = "fsm2-calibrate",
            IsBackground = true,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();

        CalibrationMeasurements m = measured!;
        IReadOnlyList<CalibrationRule> rules = CalibrationJudge.Rules(profile, m);
        return new CalibrationResult(
            profile,
            DescribeMachine(),
            m,
            rules,
            CalibrationJudge.Verdict(profile, rules, m),
            CalibrationJudge.Satisfied(candidates ?? [profile], m));
    }

    /// <summary>The facts printed before the table: architecture, cores, memory, CPU, OS, .NET, GC mode.</summary>
    /// <returns>The facts of this process and machine.</returns>
    public static MachineFacts DescribeMachine()
    {
        long memoryMb = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);
        bool concurrent = AppContext.GetData("System.GC.Concurrent") is not false;
        string gc = (GCSettings.IsServerGC ? "server" : "workstation") + ", " + (concurrent ? "concurrent" : "non-concurrent");
        return new MachineFacts(
            RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
            Environment.ProcessorCount,
            memoryMb,
            CpuModel(),
            RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription,
            gc);
    }

    private static string CpuModel()
    {
        const string cpuInfo = "/proc/cpuinfo";
        try
        {
            if (File.Exists(cpuInfo))
            {
                foreach (string line in File.ReadLines(cpuInfo))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal) || line.StartsWith("Model", StringComparison.Ordinal))
                    {
                        int colon = line.IndexOf(':', StringComparison.Ordinal);
                        return colon < 0 ? "" : line[(colon + 1)..].Trim();
                    }
                }
            }
        }
        catch (IOException)
        {
            // Best effort: the CPU model is a fact for the report, not an input.
        }
        catch (UnauthorizedAccessException)
        {
            // Same: an unreadable cpuinfo leaves the model empty.
        }

        return "";
    }

    private static CalibrationMeasurements Measure(HardwareProfile profile, CalibrationSettings settings, int workers, int ticks, int warmup, CancellationToken ct)
    {
        string requested = profile.Tick.ThreadPriority;
        if (Enum.TryParse(requested, ignoreCase: true, out ThreadPriority priority))
        {
            Thread.CurrentThread.Priority = priority;
        }

        string applied = Thread.CurrentThread.Priority.ToString();
        TimeProvider clock = settings.Clock;
        var sink = new MetricsSink();
        using MeterListener listener = AttachListener(sink);

        var frozen = new FrozenClock();
        var factory = new WorkerFactory();
        SyntheticWorkload workload = SyntheticTree.RegisterWorkload(factory, workers);
        RuntimeOptions options = HardwareProfileLoader.ApplyTo(profile, new RuntimeOptions());
        var scheduler = new ManualObservationScheduler(frozen);
        var runtime = new SupervisorRuntime(factory, options, frozen, loggerFactory: null, scheduler);
        try
        {
            Settle(runtime, scheduler, workload.Configuration, workers - 1, ct);
            int warmedUp = WarmUp(runtime, workload, clock, warmup, ct);

            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);

            // 1. Steady ticks.
            double[] steady = new double[ticks];
            int gen0 = GC.CollectionCount(0);
            int gen1 = GC.CollectionCount(1);
            int gen2 = GC.CollectionCount(2);
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < steady.Length; i++)
            {
                long t0 = clock.GetTimestamp();
                runtime.TickOnce(ct);
                steady[i] = clock.GetTimestamp() - t0;
            }

            long steadyBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            gen0 = GC.CollectionCount(0) - gen0;
            gen1 = GC.CollectionCount(1) - gen1;
            gen2 = GC.CollectionCount(2) - gen2;

            // 2. Change ticks.
            double[] change = new double[Math.Max(1, (ticks + ChangeEvery - 1) / ChangeEvery)];
            long rendersBefore = LeafRenders(runtime, workload);
            int changed = 0;
            for (int i = 0; i < ticks; i++)
            {
                if (i % ChangeEvery == 0 && changed < change.Length)
                {
                    runtime.SetConfiguration(workload.ChangeLeaf());
                    long t0 = clock.GetTimestamp();
                    runtime.TickOnce(ct);
                    change[changed++] = clock.GetTimestamp() - t0;
                }
                else
                {
                    runtime.TickOnce(ct);
                }
            }

            long renders = LeafRenders(runtime, workload) - rendersBefore;

            // 3. Timer lateness at the profile's interval.
            double[] lateness = MeasureTimer(runtime, clock, options.TickInterval, settings.TimerDuration, ct);

            // 4. Ring (informational).
            (double[] ring, long ringActions) = MeasureRing(profile, clock, settings.RingTicks, ct);

            GC.KeepAlive(sink);
            double frequency = clock.TimestampFrequency;
            return new CalibrationMeasurements
            {
                Workers = workers,
                Levels = workload.Levels,
                Ticks = ticks,
                WarmupTicks = warmedUp,
                Steady = LatencySummary.FromSamples(steady, frequency),
                SteadyAllocatedBytes = steadyBytes,
                SteadyGen0 = gen0,
                SteadyGen1 = gen1,
                SteadyGen2 = gen2,
                Change = LatencySummary.FromSamples(change.AsSpan(0, changed), frequency),
                ChangeRenders = renders,
                TimerLateness = LatencySummary.FromSamples(lateness, frequency),
                TimerIntervalMs = (int)options.TickInterval.TotalMilliseconds,
                RingEnqueue = LatencySummary.FromSamples(ring, frequency),
                RingActions = ringActions,
                RequestedPriority = requested,
                AppliedPriority = applied,
            };
        }
        finally
        {
            runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// At least <paramref name="warmup"/> ticks and at least <see cref="MinWarmupTime"/>, with a leaf change before every
    /// 10th tick (so the change path is compiled too), then <see cref="SettleAfterChangeTicks"/> ticks without a change.
    /// </summary>
    /// <returns>The ticks run.</returns>
    private static int WarmUp(SupervisorRuntime runtime, SyntheticWorkload workload, TimeProvider clock, int warmup, CancellationToken ct)
    {
        long start = clock.GetTimestamp();
        int ticks = 0;
        while (ticks < warmup || clock.GetElapsedTime(start) < MinWarmupTime)
        {
            if (ticks % ChangeEvery == 0)
            {
                runtime.SetConfiguration(workload.ChangeLeaf());
            }

            runtime.TickOnce(ct);
            ticks++;
        }

        for (int i = 0; i < SettleAfterChangeTicks; i++)
        {
            runtime.TickOnce(ct);
        }

        return ticks + SettleAfterChangeTicks;
    }

    private static long LeafRenders(SupervisorRuntime runtime, SyntheticWorkload workload)
        => workload.ChangingLeafPath is { } path ? runtime.FindNode(path)?.TemplateRenderCount ?? 0 : 0;

    private static double[] MeasureTimer(SupervisorRuntime runtime, TimeProvider clock, TimeSpan interval, TimeSpan duration, CancellationToken ct)
    {
        int count = Math.Max(MinTimerTicks, (int)(duration.Ticks / interval.Ticks));
        double[] lateness = new double[count];
        long step = (long)(interval.TotalSeconds * clock.TimestampFrequency);
        using var wake = new ManualResetEventSlim(false, spinCount: 0);
        using ITimer timer = clock.CreateTimer(static s => ((ManualResetEventSlim)s!).Set(), wake, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        long start = clock.GetTimestamp();
        for (int k = 0; k < count; k++)
        {
            long due = start + ((k + 1) * step);
            long now = clock.GetTimestamp();
            if (now < due)
            {
                wake.Reset();
                timer.Change(clock.GetElapsedTime(now, due), Timeout.InfiniteTimeSpan);
                wake.Wait(ct);
            }

            lateness[k] = Math.Max(0, clock.GetTimestamp() - due);
            runtime.TickOnce(ct);
        }

        return lateness;
    }

    private static (double[] PerAction, long Actions) MeasureRing(HardwareProfile profile, TimeProvider clock, int ringTicks, CancellationToken ct)
    {
        int workers = Math.Min(RingWorkers, profile.Actions.RingCapacity);
        var action = new RingProbeWorker.Counter();
        var factory = new WorkerFactory();
        factory.Register<SyntheticObserved, string>(RingProbeWorker.WorkerType, _ => new RingProbeWorker(action));
        var top = new ChildSpec[workers];
        for (int i = 0; i < top.Length; i++)
        {
            top[i] = new ChildSpec($"r{i}", RingProbeWorker.WorkerType, UserSpec.Empty);
        }

        RuntimeOptions options = HardwareProfileLoader.ApplyTo(profile, new RuntimeOptions());
        var scheduler = new ManualObservationScheduler(clock);
        var runtime = new SupervisorRuntime(factory, options, clock, loggerFactory: null, scheduler);
        try
        {
            runtime.SetConfiguration(top);
            for (int i = 0; i < RingWarmupTicks; i++)
            {
                scheduler.RunDue();
                runtime.TickOnce(ct);
                WaitIdle(runtime, clock);
            }

            double[] perAction = new double[ringTicks];
            int samples = 0;
            long total = 0;
            for (int i = 0; i < ringTicks; i++)
            {
                scheduler.RunDue();
                long executed = action.Value;
                long t0 = clock.GetTimestamp();
                runtime.TickOnce(ct);
                long elapsed = clock.GetTimestamp() - t0;
                WaitIdle(runtime, clock);
                long enqueued = action.Value - executed;
                if (enqueued > 0)
                {
                    perAction[samples++] = (double)elapsed / enqueued;
                    total += enqueued;
                }
            }

            return (perAction[..samples], total);
        }
        finally
        {
            runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Spins until every handed-out action completed (bounded by 10 s of the measuring clock).</summary>
    private static void WaitIdle(SupervisorRuntime runtime, TimeProvider clock)
    {
        long start = clock.GetTimestamp();
        var spin = default(SpinWait);
        while (runtime.OutstandingActions > 0)
        {
            if (clock.GetElapsedTime(start) > s_idleTimeout)
            {
                throw new InvalidOperationException($"calibration ring phase: {runtime.OutstandingActions} no-op actions did not complete within {s_idleTimeout.TotalSeconds:0} s");
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private static void Settle(SupervisorRuntime runtime, ManualObservationScheduler scheduler, IReadOnlyList<ChildSpec> configuration, int expectedNodes, CancellationToken ct)
    {
        runtime.SetConfiguration(configuration);
        for (int tick = 0; tick < MaxSettleTicks; tick++)
        {
            long generation = runtime.Status.Generation;
            scheduler.RunDue();
            runtime.TickOnce(ct);

            // Settled once a tick publishes no new status and every node runs.
            RuntimeStatus status = runtime.Status;
            if (status.Generation == generation && runtime.LiveWorkerCount == expectedNodes && status.Nodes.Count == expectedNodes
                && status.Nodes.All(static n => n.State == "running"))
            {
                return;
            }
        }

        RuntimeStatus last = runtime.Status;
        string notRunning = string.Join(", ", last.Nodes.Where(static n => n.State != "running").Take(5).Select(static n => $"{n.Path}={n.State}"));
        throw new InvalidOperationException(
            $"calibration: the synthetic tree did not settle in {MaxSettleTicks} ticks: {last.Nodes.Count} of {expectedNodes} nodes published; not running: {notRunning}");
    }

    private static MeterListener AttachListener(MetricsSink sink)
    {
        // W1: "metrics listener attached and exporting". Every runtime in a process names its meter the same; in the
        // fsm2-edge process the calibration runtimes are the only ones.
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MeterName)
                {
                    l.EnableMeasurementEvents(instrument, sink);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>(static (_, value, _, state) => Interlocked.Add(ref ((MetricsSink)state!).Longs, value));
        listener.SetMeasurementEventCallback<double>(static (_, value, _, state) => ((MetricsSink)state!).Doubles += value);
        listener.SetMeasurementEventCallback<int>(static (_, value, _, state) => Interlocked.Add(ref ((MetricsSink)state!).Longs, value));
        listener.Start();
        return listener;
    }

    private sealed class MetricsSink
    {
        public long Longs;
        public double Doubles;
    }
}
