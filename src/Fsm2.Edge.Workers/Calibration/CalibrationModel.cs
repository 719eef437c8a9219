namespace Fsm2.Edge.Workers.Calibration;

/// <summary>What <see cref="Calibrator.Run"/> may change from the profile's <c>calibration</c> section.</summary>
public sealed class CalibrationSettings
{
    /// <summary>Steady ticks (and change-phase ticks); <see langword="null"/> takes <c>calibration.ticks</c>.</summary>
    public int? Ticks { get; init; }

    /// <summary>Warm-up ticks; <see langword="null"/> takes <c>calibration.warmup_ticks</c>.</summary>
    public int? WarmupTicks { get; init; }

    /// <summary>W1 size (every node, the root included); <see langword="null"/> takes <c>calibration.workers</c>.</summary>
    public int? Workers { get; init; }

    /// <summary>
    /// How long the timer phase ticks at the profile's interval (default 5 s, 50-runtime-monitoring §11.3); at least
    /// <see cref="Calibrator.MinTimerTicks"/> ticks run whatever the duration.
    /// </summary>
    public TimeSpan TimerDuration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Ticks of the ring phase (each enqueues up to 64 no-op actions) after 20 warm-up ticks; default 200.</summary>
    public int RingTicks { get; init; } = 200;

    /// <summary>
    /// The clock that measures (durations, timer lateness). It must be a real clock: the timer phase waits on it.
    /// Default <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>Percentiles of one measured series, in microseconds (nearest rank).</summary>
/// <param name="Count">Samples.</param>
/// <param name="P50">Median.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="Max">Largest sample.</param>
public sealed record LatencySummary(int Count, double P50, double P90, double P99, double Max)
{
    /// <summary>No samples.</summary>
    public static LatencySummary Empty { get; } = new(0, 0, 0, 0, 0);

    /// <summary>Summarises <paramref name="samples"/> (sorted in place) given in units of 1/<paramref name="frequency"/> s.</summary>
    /// <param name="samples">The samples; sorted by this call.</param>
    /// <param name="frequency">Units per second (a timestamp frequency).</param>
    /// <param name="divisor">Each sample is divided by this first (per-item costs of a batch); default 1.</param>
    /// <returns>The summary, or <see cref="Empty"/> for no samples.</returns>
    public static LatencySummary FromSamples(Span<double> samples, double frequency, double divisor = 1)
    {
        if (samples.Length == 0)
        {
            return Empty;
        }

        samples.Sort();
        double scale = 1_000_000.0 / frequency / divisor;
        return new LatencySummary(
            samples.Length,
            Rank(samples, 0.50) * scale,
            Rank(samples, 0.90) * scale,
            Rank(samples, 0.99) * scale,
            samples[^1] * scale);

        static double Rank(Span<double> sorted, double p)
        {
            int rank = (int)Math.Ceiling(p * sorted.Length);
            return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
        }
    }
}

/// <summary>The machine a calibration ran on (50-runtime-monitoring §11.3).</summary>
/// <param name="Architecture">Process architecture (<c>x64</c>, <c>arm64</c>).</param>
/// <param name="Cores">Logical processors available to the process.</param>
/// <param name="MemoryMb">Memory available to the GC (container limit included), MB.</param>
/// <param name="Cpu">CPU model where the OS tells it (Linux <c>/proc/cpuinfo</c>), else <c>""</c>.</param>
/// <param name="Os">Operating system description.</param>
/// <param name="Runtime">.NET runtime description.</param>
/// <param name="GcMode"><c>server</c> or <c>workstation</c>, <c>concurrent</c> or not, and the heap hard limit.</param>
public sealed record MachineFacts(string Architecture, int Cores, long MemoryMb, string Cpu, string Os, string Runtime, string GcMode);

/// <summary>Everything one calibration measured (50-runtime-monitoring §11.3 steps 1–4).</summary>
public sealed record CalibrationMeasurements
{
    /// <summary>W1 size (every node, the root included).</summary>
    public required int Workers { get; init; }

    /// <summary>Tree levels (3 for any W1 with leaves).</summary>
    public required int Levels { get; init; }

    /// <summary>Steady ticks measured (also the length of the change phase).</summary>
    public required int Ticks { get; init; }

    /// <summary>Warm-up ticks run before the forced full GC (at least the requested count; see <see cref="Calibrator.MinWarmupTime"/>).</summary>
    public required int WarmupTicks { get; init; }

    /// <summary>Step 1: duration of each steady tick.</summary>
    public required LatencySummary Steady { get; init; }

    /// <summary>Step 1: bytes the tick thread allocated over all steady ticks.</summary>
    public required long SteadyAllocatedBytes { get; init; }

    /// <summary>Step 1: collections per generation during the steady ticks (process-wide counts).</summary>
    public required int SteadyGen0 { get; init; }

    /// <summary>Step 1: gen-1 collections during the steady ticks.</summary>
    public required int SteadyGen1 { get; init; }

    /// <summary>Step 1: gen-2 collections during the steady ticks.</summary>
    public required int SteadyGen2 { get; init; }

    /// <summary>Step 2: duration of the ticks that applied a leaf change (every 10th tick of the change phase).</summary>
    public required LatencySummary Change { get; init; }

    /// <summary>Step 2: config templates rendered during the change phase (one per change when the tree has a leaf).</summary>
    public required long ChangeRenders { get; init; }

    /// <summary>Step 3: how late each tick started against its schedule at the profile's interval.</summary>
    public required LatencySummary TimerLateness { get; init; }

    /// <summary>Step 3: the interval the timer phase ticked at, ms.</summary>
    public required int TimerIntervalMs { get; init; }

    /// <summary>
    /// Step 4 (informational): tick-side cost per action of ticks in which up to 64 flat workers each enqueue one no-op
    /// action into the profile's ring and threads; see <see cref="Calibrator"/> for what it includes.
    /// </summary>
    public required LatencySummary RingEnqueue { get; init; }

    /// <summary>Step 4: actions enqueued during the measured ring ticks.</summary>
    public required long RingActions { get; init; }

    /// <summary>The thread priority the profile asks for (<c>tick.thread_priority</c>).</summary>
    public required string RequestedPriority { get; init; }

    /// <summary>The priority the measuring thread reported after it was set (the OS may ignore it without privileges).</summary>
    public required string AppliedPriority { get; init; }

    /// <summary>Bytes per steady tick (0 expected).</summary>
    public double AllocBytesPerSteadyTick => Ticks == 0 ? 0 : (double)SteadyAllocatedBytes / Ticks;
}

/// <summary>The verdict of 50-runtime-monitoring §11.3.</summary>
public enum CalibrationVerdict
{
    /// <summary>Every rule holds with steady p99 at most 80 % of the budget.</summary>
    Pass,

    /// <summary>Every rule holds, but steady p99 is above 80 % of the budget (exit 0 with a warning).</summary>
    Marginal,

    /// <summary>At least one rule is violated (exit 4).</summary>
    Fail,
}

/// <summary>One PASS rule of 50-runtime-monitoring §11.3, as judged.</summary>
/// <param name="Id">Stable rule id: <c>steady_p99</c>, <c>steady_max</c>, <c>steady_alloc</c>, <c>steady_gen2</c>, <c>change_p99</c>, <c>timer_lateness_p99</c>.</param>
/// <param name="Description">What the rule requires, with the limit.</param>
/// <param name="Measured">The measured value (µs, bytes per tick or collections).</param>
/// <param name="Limit">The largest value that passes, same unit.</param>
/// <param name="Unit"><c>us</c>, <c>B/tick</c> or <c>GCs</c>.</param>
public sealed record CalibrationRule(string Id, string Description, double Measured, double Limit, string Unit)
{
    /// <summary>Whether the measured value is within the limit.</summary>
    public bool Passed => Measured <= Limit;
}

/// <summary>A complete calibration: the machine, the numbers, the rules, the verdict.</summary>
/// <param name="Profile">The profile judged against.</param>
/// <param name="Machine">Machine facts.</param>
/// <param name="Measurements">The numbers.</param>
/// <param name="Rules">Every rule, in the order of §11.3.</param>
/// <param name="Verdict">PASS, MARGINAL or FAIL.</param>
/// <param name="SatisfiedProfiles">Names of the candidate profiles whose budgets these numbers satisfy (all rules).</param>
public sealed record CalibrationResult(
    Config.HardwareProfile Profile,
    MachineFacts Machine,
    CalibrationMeasurements Measurements,
    IReadOnlyList<CalibrationRule> Rules,
    CalibrationVerdict Verdict,
    IReadOnlyList<string> SatisfiedProfiles)
{
    /// <summary>The rules that failed.</summary>
    public IEnumerable<CalibrationRule> Violations => Rules.Where(static r => !r.Passed);

    /// <summary>Budget p99 ÷ measured steady p99 (how many times the budget the measurement leaves); infinite for 0.</summary>
    public double Headroom => Measurements.Steady.P99 <= 0 ? double.PositiveInfinity : Profile.Tick.BudgetP99Us / Measurements.Steady.P99;
}
