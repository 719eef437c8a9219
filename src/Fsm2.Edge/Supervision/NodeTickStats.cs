namespace Fsm2.Edge.Supervision;

/// <summary>
/// Live per-node counters the tick thread writes with plain stores (shared/spec/50-runtime-monitoring.md §6.3: "tick
/// counters are atomic fields read alongside; they ride along but never trigger a publish"). One instance per node for
/// the node's whole life (worker restarts included); a <see cref="NodeStatus"/> carries a reference to it, so readers see
/// current values rather than those of the status's publication.
/// </summary>
/// <remarks>
/// Writes happen on the tick thread only (one writer), reads on any thread. Every field is a 64-bit value written with
/// <see cref="Volatile.Write(ref long, long)"/>, so a reader never sees a torn value; two fields read one after the other
/// may belong to different ticks. PERF: recording is three stores and a compare: 0 B; the collector age is computed by the reader (a status
/// publisher) from the stored stamps, never on the tick.
/// </remarks>
public sealed class NodeTickStats
{
    private readonly double _microsecondsPerTimestamp;
    private long _count;
    private long _last;
    private long _max;
    private long _observedAt;
    private long _collectorStartedAt;
    private long _stale;
    private string? _actionKind;
    private long _actionSince;
    private long _actionAttempt;

    internal NodeTickStats(long timestampFrequency)
    {
        _microsecondsPerTimestamp = 1_000_000.0 / timestampFrequency;
    }

    /// <summary>Completed ticks of the node (full, health-only and shutdown ticks alike).</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>Duration of the node's latest sampled tick in microseconds (one tick in 16 is timed), its subtree included
    /// (a parent's tick runs its children).</summary>
    public double LastMicroseconds => Volatile.Read(ref _last) * _microsecondsPerTimestamp;

    /// <summary>The longest sampled tick of the node since it was created, in microseconds, its subtree included.</summary>
    public double MaxMicroseconds => Volatile.Read(ref _max) * _microsecondsPerTimestamp;

    /// <summary>When the newest observation the tick read was collected (runtime clock); <see langword="null"/> before the
    /// first observation of the current worker instance (a new instance's collector start clears it).</summary>
    public DateTimeOffset? ObservedAt
    {
        get
        {
            long ticks = Volatile.Read(ref _observedAt);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// When the collector of the node's current worker instance started (runtime clock: the tick that first published the
    /// instance's desired state, 10-core-hierarchy §5.2); <see langword="null"/> before the first start (the root, a node
    /// whose worker never got a desired state). A collector restart (§5.3) keeps the stamp; a new worker instance (a
    /// restart by the parent, a worker-requested restart) sets a new one.
    /// </summary>
    public DateTimeOffset? CollectorStartedAt
    {
        get
        {
            long ticks = Volatile.Read(ref _collectorStartedAt);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// The age of the node's data at <paramref name="now"/> as 10-core-hierarchy §5.2 measures it: since the newest
    /// observation of the current worker instance was collected, or, before its first observation, since its collector
    /// started (<c>collector.ageMs</c> of the node status, 50-runtime-monitoring §6.3). Never negative.
    /// </summary>
    /// <param name="now">The instant to measure at (the status's <c>ts</c>).</param>
    /// <returns>The age, or <see langword="null"/> when no collector was ever started for the node.</returns>
    public TimeSpan? ObservationAge(DateTimeOffset now)
    {
        // The observation stamp first: SetCollectorStarted writes the start before it clears the observation, so a
        // concurrent read sees either the previous instance's observation or the new start, never a cleared pair.
        long from = Volatile.Read(ref _observedAt);
        if (from == 0)
        {
            from = Volatile.Read(ref _collectorStartedAt);
            if (from == 0)
            {
                return null;
            }
        }

        TimeSpan age = now - new DateTimeOffset(from, TimeSpan.Zero);
        return age < TimeSpan.Zero ? TimeSpan.Zero : age;
    }

    /// <summary>Whether the node is in the stale pause (its newest observation is older than the stale threshold).</summary>
    public bool Stale => Volatile.Read(ref _stale) != 0;

    /// <summary>
    /// The action queued or running for the node's worker, or <see langword="null"/>; a new record per read. The kind is
    /// written last on start and cleared first on end, so a reader sees either no action or a consistent one (a
    /// concurrent restart may pair a new kind with the previous start time for one read).
    /// </summary>
    public NodeActionStatus? Action
    {
        get
        {
            string? kind = Volatile.Read(ref _actionKind);
            return kind is null
                ? null
                : new NodeActionStatus(kind, new DateTimeOffset(Volatile.Read(ref _actionSince), TimeSpan.Zero), (int)Volatile.Read(ref _actionAttempt));
        }
    }

    /// <summary>An identity of the current action (its enqueue instant in UTC ticks), 0 without one: it changes whenever an
    /// action starts or ends, which is what a status publisher compares.</summary>
    public long ActionStamp => Volatile.Read(ref _actionKind) is null ? 0 : Volatile.Read(ref _actionSince);

    /// <summary>Tick thread: an action was enqueued at <paramref name="since"/> (UTC ticks) as attempt <paramref name="attempt"/>.</summary>
    internal void SetAction(string kind, long since, int attempt)
    {
        Volatile.Write(ref _actionSince, since);
        Volatile.Write(ref _actionAttempt, attempt);
        Volatile.Write(ref _actionKind, kind);
    }

    /// <summary>Tick thread: the action ended (completed, abandoned or cancelled).</summary>
    internal void ClearAction() => Volatile.Write(ref _actionKind, null);

    /// <summary>Tick thread: a tick whose duration was not sampled.</summary>
    internal void CountTick() => Volatile.Write(ref _count, _count + 1);

    /// <summary>Tick thread: one sampled tick of the node took <paramref name="elapsed"/> timestamp units.</summary>
    internal void RecordTick(long elapsed)
    {
        Volatile.Write(ref _last, elapsed);
        if (elapsed > _max)
        {
            Volatile.Write(ref _max, elapsed);
        }

        Volatile.Write(ref _count, _count + 1);
    }

    /// <summary>Tick thread: the tick read an observation collected at <paramref name="collectedAt"/>.</summary>
    internal void SetObservedAt(DateTimeOffset collectedAt) => Volatile.Write(ref _observedAt, collectedAt.UtcTicks);

    /// <summary>Tick thread: the collector of a new worker instance started at <paramref name="startedAt"/>; the instance
    /// has no observation yet, so the previous instance's observation stamp is cleared.</summary>
    internal void SetCollectorStarted(DateTimeOffset startedAt)
    {
        Volatile.Write(ref _collectorStartedAt, startedAt.UtcTicks);
        Volatile.Write(ref _observedAt, 0);
    }

    /// <summary>Tick thread: the node entered (<see langword="true"/>) or left the stale pause.</summary>
    internal void SetStale(bool stale) => Volatile.Write(ref _stale, stale ? 1 : 0);
}
