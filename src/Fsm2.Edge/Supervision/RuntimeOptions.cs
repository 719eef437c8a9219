using System.Numerics;
using Fsm2.Edge.Execution;

namespace Fsm2.Edge.Supervision;

/// <summary>
/// Timing and sizing of one runtime. Zero or absent values take the default; <see cref="Resolve"/> applies the
/// defaults and validates (the runtime constructor calls it).
/// </summary>
public sealed record RuntimeOptions
{
    /// <summary>Default tick interval: 100 ms.</summary>
    public static readonly TimeSpan DefaultTickInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Default observation interval: 1 s.</summary>
    public static readonly TimeSpan DefaultObservationInterval = TimeSpan.FromSeconds(1);

    /// <summary>Default observation timeout: 1 s + 200 ms cgroup-throttle allowance + 1 s margin.</summary>
    public static readonly TimeSpan DefaultObservationTimeout = TimeSpan.FromMilliseconds(2200);

    /// <summary>Default stale threshold: 10 s.</summary>
    public static readonly TimeSpan DefaultStaleThreshold = TimeSpan.FromSeconds(10);

    /// <summary>Default collector timeout: 20 s.</summary>
    public static readonly TimeSpan DefaultCollectorTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Ticks interval. Default 100 ms.</summary>
    public TimeSpan TickInterval { get; init; }

    /// <summary>Time between collections. Default 1 s; per worker type overridable.</summary>
    public TimeSpan ObservationInterval { get; init; }

    /// <summary>Per-collection timeout. Default 2.2 s; must be below <see cref="StaleThreshold"/>.</summary>
    public TimeSpan ObservationTimeout { get; init; }

    /// <summary>Age at which a worker pauses (no <c>Next</c>). Default 10 s.</summary>
    public TimeSpan StaleThreshold { get; init; }

    /// <summary>Age at which the collector is restarted. Default 20 s; must exceed <see cref="StaleThreshold"/>.</summary>
    public TimeSpan CollectorTimeout { get; init; }

    /// <summary>Collector restarts before escalating to a graceful shutdown. Default 3.</summary>
    public int MaxCollectorRestarts { get; init; }

    /// <summary>Linear restart backoff step: after restart k the next waits step × (k + 1). Default 2 s.</summary>
    public TimeSpan CollectorRestartStep { get; init; }

    /// <summary>Forced finalization of a removing subtree. Default 30 s.</summary>
    public TimeSpan RemovalTimeout { get; init; }

    /// <summary>A restart that has not finished by then is forced back to the initial state. Default 30 s.</summary>
    public TimeSpan RestartTimeout { get; init; }

    /// <summary>Maximum hierarchy depth (root 0, top-level entries 1). Default 10.</summary>
    public int MaxHierarchyDepth { get; init; }

    /// <summary>Minimum spacing of child creation retries without input change. Default 1 s.</summary>
    public TimeSpan ChildCreationRetryInterval { get; init; }

    /// <summary>Rate limit for repeated identical failure logs. Default 60 s.</summary>
    public TimeSpan FailureLogInterval { get; init; }

    /// <summary>Whole-tree drain budget of a runtime shutdown. Default 8 s.</summary>
    public TimeSpan ShutdownBudget { get; init; }

    /// <summary>How long the executor's stop may wait for running actions. Default 2 s.</summary>
    public TimeSpan ActionShutdownTimeout { get; init; }

    /// <summary>Default per-action timeout. Default 30 s.</summary>
    public TimeSpan ActionTimeout { get; init; }

    /// <summary>Action threads, 1 to 256. Default 2.</summary>
    public int ActionThreads { get; init; }

    /// <summary>Action queue capacity: a power of two from 16 to 65,536. Default 1,024.</summary>
    public int ActionQueueCapacity { get; init; }

    /// <summary>Which action queue the executor uses. Default <see cref="ActionQueueKind.Ring"/>.</summary>
    public ActionQueueKind ActionQueue { get; init; }

    /// <summary>Per-worker action backoff after the first failure (40-actions §11). Default 1 s.</summary>
    public TimeSpan ActionBackoffBase { get; init; }

    /// <summary>Cap of the per-worker action backoff. Default 60 s; must not be below <see cref="ActionBackoffBase"/>.</summary>
    public TimeSpan ActionBackoffMax { get; init; }

    /// <summary>
    /// Relative jitter J of the action backoff: each delay is scaled by a uniform factor in [1 − J, 1 + J].
    /// <see langword="null"/> takes the default 0.20; 0 disables jitter (tests); must be below 1.
    /// </summary>
    public double? ActionBackoffJitter { get; init; }

    /// <summary>Seed of the backoff jitter generator, for reproducible runs; <see langword="null"/> seeds randomly.</summary>
    public int? ActionBackoffSeed { get; init; }

    /// <summary>Infrastructure breaker: delay before the first trial (30-supervision §5.3). Default 1 s; 0 &lt; base ≤ max.</summary>
    public TimeSpan BreakerBaseDelay { get; init; }

    /// <summary>Infrastructure breaker: cap of every trial delay, jitter included. Default 60 s.</summary>
    public TimeSpan BreakerMaxDelay { get; init; }

    /// <summary>
    /// Infrastructure breaker: relative jitter J of trial delays, from 0 (none; tests) to below 1.
    /// <see langword="null"/> takes the default 0.20.
    /// </summary>
    public double? BreakerJitter { get; init; }

    /// <summary>
    /// Infrastructure breaker: how long it must stay Closed before its attempt counter resets (§5.4).
    /// <see langword="null"/> takes the default 60 s; zero is allowed (every close ends the episode at the next healthy tick).
    /// </summary>
    public TimeSpan? BreakerStabilityWindow { get; init; }

    /// <summary>First attempt labelled <c>persistent_failure</c> (§5.6). Default 3; 1 ≤ this &lt; <see cref="EscalationAttempt"/>.</summary>
    public int PersistentFailureAttempt { get; init; }

    /// <summary>First attempt labelled <c>escalation_imminent</c> (§5.6). Default 5.</summary>
    public int EscalationAttempt { get; init; }

    /// <summary>
    /// How long a collector-dead child may keep walking its shutdown states before its parent's failed trial restarts
    /// it anyway (§7.1). <see langword="null"/> takes the default 10 s; zero restarts at the first failed trial.
    /// </summary>
    public TimeSpan? RestartGrace { get; init; }

    /// <summary>Counted panics within <see cref="PanicWindow"/> that open a node's panic breaker (§9.3). Default 3; at least 1.</summary>
    public int MaxPanics { get; init; }

    /// <summary>The panic window (§9.3). Default 5 min.</summary>
    public TimeSpan PanicWindow { get; init; }

    /// <summary>Default probe interval for a <c>ProbeSpec</c> without one (§10.1). Default 2 s.</summary>
    public TimeSpan ProbeInterval { get; init; }

    /// <summary>Default probe run budget (§10.1). Default 1 s; must be below <see cref="ProbeInterval"/>.</summary>
    public TimeSpan ProbeTimeout { get; init; }

    /// <summary>Default consecutive misses that make a probe unhealthy (§10.1). Default 3; at least 1.</summary>
    public int ProbeMissThreshold { get; init; }

    /// <summary>
    /// The runtime seed of the breaker and probe jitter generators (§5.3): each node's generator is seeded from it and a
    /// stable hash of the node path. <see langword="null"/> seeds randomly (production); tests fix it.
    /// </summary>
    public ulong? SupervisionSeed { get; init; }

    /// <summary>
    /// How often metrics are exported (50-runtime-monitoring §6.4); at least 1 s. Default 10 s. Hardware profiles set it
    /// from <c>metrics.interval_ms</c>; the runtime itself only carries it to the exporter.
    /// </summary>
    public TimeSpan MetricsInterval { get; init; }

    /// <summary>Returns a copy with defaults applied, after validation.</summary>
    /// <returns>The resolved options.</returns>
    /// <exception cref="ArgumentException">A value is negative, or the timing relations do not hold; the message names the fields.</exception>
    public RuntimeOptions Resolve()
    {
        RequireNonNegative(TickInterval, nameof(TickInterval));
        RequireNonNegative(ObservationInterval, nameof(ObservationInterval));
        RequireNonNegative(ObservationTimeout, nameof(ObservationTimeout));
        RequireNonNegative(StaleThreshold, nameof(StaleThreshold));
        RequireNonNegative(CollectorTimeout, nameof(CollectorTimeout));
        RequireNonNegative(CollectorRestartStep, nameof(CollectorRestartStep));
        RequireNonNegative(RemovalTimeout, nameof(RemovalTimeout));
        RequireNonNegative(RestartTimeout, nameof(RestartTimeout));
        RequireNonNegative(ChildCreationRetryInterval, nameof(ChildCreationRetryInterval));
        RequireNonNegative(FailureLogInterval, nameof(FailureLogInterval));
        RequireNonNegative(ShutdownBudget, nameof(ShutdownBudget));
        RequireNonNegative(ActionShutdownTimeout, nameof(ActionShutdownTimeout));
        RequireNonNegative(ActionTimeout, nameof(ActionTimeout));
        RequireNonNegative(ActionBackoffBase, nameof(ActionBackoffBase));
        RequireNonNegative(ActionBackoffMax, nameof(ActionBackoffMax));
        RequireNonNegative(MetricsInterval, nameof(MetricsInterval));
        RequireNonNegative(MaxCollectorRestarts, nameof(MaxCollectorRestarts));
        RequireNonNegative(MaxHierarchyDepth, nameof(MaxHierarchyDepth));
        RequireNonNegative(ActionThreads, nameof(ActionThreads));
        RequireNonNegative(ActionQueueCapacity, nameof(ActionQueueCapacity));
        RequireNonNegative(BreakerBaseDelay, nameof(BreakerBaseDelay));
        RequireNonNegative(BreakerMaxDelay, nameof(BreakerMaxDelay));
        RequireNonNegative(BreakerStabilityWindow ?? TimeSpan.Zero, nameof(BreakerStabilityWindow));
        RequireNonNegative(PersistentFailureAttempt, nameof(PersistentFailureAttempt));
        RequireNonNegative(EscalationAttempt, nameof(EscalationAttempt));
        RequireNonNegative(RestartGrace ?? TimeSpan.Zero, nameof(RestartGrace));
        RequireNonNegative(MaxPanics, nameof(MaxPanics));
        RequireNonNegative(PanicWindow, nameof(PanicWindow));
        RequireNonNegative(ProbeInterval, nameof(ProbeInterval));
        RequireNonNegative(ProbeTimeout, nameof(ProbeTimeout));
        RequireNonNegative(ProbeMissThreshold, nameof(ProbeMissThreshold));

        RuntimeOptions resolved = this with
        {
            TickInterval = Or(TickInterval, DefaultTickInterval),
            ObservationInterval = Or(ObservationInterval, DefaultObservationInterval),
            ObservationTimeout = Or(ObservationTimeout, DefaultObservationTimeout),
            StaleThreshold = Or(StaleThreshold, DefaultStaleThreshold),
            CollectorTimeout = Or(CollectorTimeout, DefaultCollectorTimeout),
            MaxCollectorRestarts = MaxCollectorRestarts == 0 ? 3 : MaxCollectorRestarts,
            CollectorRestartStep = Or(CollectorRestartStep, TimeSpan.FromSeconds(2)),
            RemovalTimeout = Or(RemovalTimeout, TimeSpan.FromSeconds(30)),
            RestartTimeout = Or(RestartTimeout, TimeSpan.FromSeconds(30)),
            MaxHierarchyDepth = MaxHierarchyDepth == 0 ? 10 : MaxHierarchyDepth,
            ChildCreationRetryInterval = Or(ChildCreationRetryInterval, TimeSpan.FromSeconds(1)),
            FailureLogInterval = Or(FailureLogInterval, TimeSpan.FromSeconds(60)),
            ShutdownBudget = Or(ShutdownBudget, TimeSpan.FromSeconds(8)),
            ActionShutdownTimeout = Or(ActionShutdownTimeout, TimeSpan.FromSeconds(2)),
            ActionTimeout = Or(ActionTimeout, TimeSpan.FromSeconds(30)),
            ActionBackoffBase = Or(ActionBackoffBase, TimeSpan.FromSeconds(1)),
            ActionBackoffMax = Or(ActionBackoffMax, TimeSpan.FromSeconds(60)),
            ActionBackoffJitter = ActionBackoffJitter ?? 0.20,

            // 10 s: the x64 profiles' metrics interval (50-runtime-monitoring §11.2).
            MetricsInterval = Or(MetricsInterval, TimeSpan.FromSeconds(10)),

            // 2 threads: arbitrary for the baseline executor; hardware profiles set it per board.
            ActionThreads = ActionThreads == 0 ? 2 : ActionThreads,

            // 1,024 slots: arbitrary; a power of two so the ring executor can take the same value.
            ActionQueueCapacity = ActionQueueCapacity == 0 ? 1024 : ActionQueueCapacity,

            // 30-supervision §12: the defaults of the options table.
            BreakerBaseDelay = Or(BreakerBaseDelay, TimeSpan.FromSeconds(1)),
            BreakerMaxDelay = Or(BreakerMaxDelay, TimeSpan.FromSeconds(60)),
            BreakerJitter = BreakerJitter ?? 0.20,
            BreakerStabilityWindow = BreakerStabilityWindow ?? TimeSpan.FromSeconds(60),
            PersistentFailureAttempt = PersistentFailureAttempt == 0 ? 3 : PersistentFailureAttempt,
            EscalationAttempt = EscalationAttempt == 0 ? 5 : EscalationAttempt,
            RestartGrace = RestartGrace ?? TimeSpan.FromSeconds(10),
            MaxPanics = MaxPanics == 0 ? 3 : MaxPanics,
            PanicWindow = Or(PanicWindow, TimeSpan.FromMinutes(5)),
            ProbeInterval = Or(ProbeInterval, TimeSpan.FromSeconds(2)),
            ProbeTimeout = Or(ProbeTimeout, TimeSpan.FromSeconds(1)),
            ProbeMissThreshold = ProbeMissThreshold == 0 ? 3 : ProbeMissThreshold,
        };

        resolved.ValidateSupervision();

        // 40-actions §4 and §17: the ring needs a power-of-two capacity; 256 threads is the spec's upper bound.
        if (resolved.ActionQueueCapacity < 16 || resolved.ActionQueueCapacity > 65_536 || !BitOperations.IsPow2(resolved.ActionQueueCapacity))
        {
            throw new ArgumentException(
                $"{nameof(ActionQueueCapacity)} must be a power of two from 16 to 65536 (was {resolved.ActionQueueCapacity})",
                nameof(ActionQueueCapacity));
        }

        if (resolved.MetricsInterval < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException(
                $"{nameof(MetricsInterval)} must be at least 1 s (was {resolved.MetricsInterval})", nameof(MetricsInterval));
        }

        if (resolved.ActionThreads > 256)
        {
            throw new ArgumentException(
                $"{nameof(ActionThreads)} must be from 1 to 256 (was {resolved.ActionThreads})", nameof(ActionThreads));
        }

        if (!Enum.IsDefined(resolved.ActionQueue))
        {
            throw new ArgumentException(
                $"{nameof(ActionQueue)} must be {nameof(ActionQueueKind.Ring)} or {nameof(ActionQueueKind.Channel)} (was {(int)resolved.ActionQueue})",
                nameof(ActionQueue));
        }

        if (resolved.ActionBackoffMax < resolved.ActionBackoffBase)
        {
            throw new ArgumentException(
                $"{nameof(ActionBackoffMax)} ({resolved.ActionBackoffMax}) must not be less than {nameof(ActionBackoffBase)} ({resolved.ActionBackoffBase})",
                nameof(ActionBackoffMax));
        }

        if (resolved.ActionBackoffJitter is not (>= 0 and < 1))
        {
            throw new ArgumentException(
                $"{nameof(ActionBackoffJitter)} must be at least 0 and below 1 (was {resolved.ActionBackoffJitter})",
                nameof(ActionBackoffJitter));
        }

        if (resolved.CollectorTimeout <= resolved.StaleThreshold)
        {
            throw new ArgumentException(
                $"{nameof(CollectorTimeout)} ({resolved.CollectorTimeout}) must be greater than {nameof(StaleThreshold)} ({resolved.StaleThreshold})",
                nameof(CollectorTimeout));
        }

        if (resolved.ObservationTimeout >= resolved.StaleThreshold)
        {
            throw new ArgumentException(
                $"{nameof(ObservationTimeout)} ({resolved.ObservationTimeout}) must be less than {nameof(StaleThreshold)} ({resolved.StaleThreshold})",
                nameof(ObservationTimeout));
        }

        return resolved;
    }

    /// <summary>
    /// Load-time warnings for timing relations that are legal but suspicious (30-supervision §8.1): they name both
    /// fields. The runtime logs them as <c>options_warning</c> when it is constructed. Call on resolved options.
    /// </summary>
    /// <returns>The warnings; empty when there are none.</returns>
    public IReadOnlyList<string> GetWarnings()
    {
        var warnings = new List<string>();
        if (ObservationInterval >= StaleThreshold)
        {
            warnings.Add($"{nameof(ObservationInterval)} ({ObservationInterval}) is not below {nameof(StaleThreshold)} ({StaleThreshold}): "
                + "workers pause between two collections");
        }

        if (TickInterval > ObservationInterval)
        {
            warnings.Add($"{nameof(TickInterval)} ({TickInterval}) is above {nameof(ObservationInterval)} ({ObservationInterval}): "
                + "observations are collected faster than they are evaluated");
        }

        return warnings;
    }

    // 30-supervision §12: the validation column of the options table.
    private void ValidateSupervision()
    {
        if (BreakerMaxDelay < BreakerBaseDelay)
        {
            throw new ArgumentException(
                $"{nameof(BreakerMaxDelay)} ({BreakerMaxDelay}) must not be less than {nameof(BreakerBaseDelay)} ({BreakerBaseDelay})",
                nameof(BreakerMaxDelay));
        }

        if (BreakerJitter is not (>= 0 and < 1))
        {
            throw new ArgumentException($"{nameof(BreakerJitter)} must be at least 0 and below 1 (was {BreakerJitter})", nameof(BreakerJitter));
        }

        if (EscalationAttempt <= PersistentFailureAttempt)
        {
            throw new ArgumentException(
                $"{nameof(EscalationAttempt)} ({EscalationAttempt}) must be greater than {nameof(PersistentFailureAttempt)} ({PersistentFailureAttempt})",
                nameof(EscalationAttempt));
        }

        if (ProbeTimeout >= ProbeInterval)
        {
            throw new ArgumentException(
                $"{nameof(ProbeTimeout)} ({ProbeTimeout}) must be less than {nameof(ProbeInterval)} ({ProbeInterval})",
                nameof(ProbeTimeout));
        }
    }

    private static TimeSpan Or(TimeSpan value, TimeSpan fallback) => value == TimeSpan.Zero ? fallback : value;

    private static void RequireNonNegative(TimeSpan value, string field)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentException($"{field} must not be negative (was {value})", field);
        }
    }

    private static void RequireNonNegative(int value, string field)
    {
        if (value < 0)
        {
            throw new ArgumentException($"{field} must not be negative (was {value})", field);
        }
    }
}
