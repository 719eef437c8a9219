using System.Diagnostics;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Observability;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Health;

/// <summary>
/// The runtime's one probe scheduler (30-supervision §10.1): every attached probe runs on the thread pool, driven by a
/// one-shot <see cref="TimeProvider"/> timer that is re-armed after each run with ±10 % jitter, so runs of one probe
/// never overlap and a fleet of probes does not fire in lockstep. After each run the new immutable
/// <see cref="ProbeVerdict"/> is swapped into the probe's slot; the tick only reads that slot.
/// </summary>
internal sealed class ProbeScheduler : IDisposable
{
    // ±10 %: the SHOULD of 30-supervision §10.1.
    private const double IntervalJitter = 0.10;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EdgeMetrics _metrics;
    private readonly ulong _seed;

    // Shared: attached handles, for the fsm2_probe_healthy gauge; written by the tick thread under the lock.
    private readonly Lock _lock = new();
    private readonly List<ProbeHandle> _handles = [];

    public ProbeScheduler(TimeProvider time, ILogger logger, EdgeMetrics metrics, ulong seed)
    {
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _seed = seed;
        metrics.AttachProbes(this);
    }

    public TimeProvider Time => _time;

    /// <summary>Tick thread: starts running <paramref name="probe"/> for node <paramref name="nodePath"/>.</summary>
    public ProbeHandle Attach(IInfrastructureProbe probe, string nodePath)
    {
        var handle = new ProbeHandle(this, probe, nodePath, _time.GetTimestamp(), InfraBreaker.Seed(_seed, probe.Id));
        lock (_lock)
        {
            _handles.Add(handle);
        }

        handle.Start();
        return handle;
    }

    /// <summary>Tick thread: stops the probe without waiting for a run in progress; disposes it off the tick thread.</summary>
    public void Detach(ProbeHandle handle)
    {
        lock (_lock)
        {
            _handles.Remove(handle);
        }

        handle.Stop();
    }

    /// <summary>The healthy flag of every attached probe (gauge callback, any thread).</summary>
    public List<KeyValuePair<string, bool>> SnapshotHealth()
    {
        lock (_lock)
        {
            var result = new List<KeyValuePair<string, bool>>(_handles.Count);
            foreach (ProbeHandle handle in _handles)
            {
                result.Add(new KeyValuePair<string, bool>(handle.Id, handle.Verdict?.Healthy ?? true));
            }

            return result;
        }
    }

    public void Dispose()
    {
        ProbeHandle[] handles;
        lock (_lock)
        {
            handles = [.. _handles];
            _handles.Clear();
        }

        foreach (ProbeHandle handle in handles)
        {
            handle.Stop();
        }
    }

    internal void Record(ProbeHandle handle, ProbeVerdict verdict)
    {
        KeyValuePair<string, object?> probeTag = new("probe", handle.Id);
        _metrics.ProbeResults.Add(1, probeTag, new KeyValuePair<string, object?>("outcome", verdict.Outcome.ToTag()));
        if (verdict.RoundTrip is { } rtt)
        {
            _metrics.ProbeRoundTrip.Record(rtt.TotalSeconds, probeTag);
        }
    }

    internal void ReportFault(ProbeHandle handle, Exception exception)
    {
        // A probe broke its never-throw contract: the run counts as a miss (§9.1 site probe), not in any panic window.
        PanicClass panicClass = ExceptionClassifier.Classify(exception);
        _metrics.Panics.Add(1, new KeyValuePair<string, object?>("node", handle.NodePath),
            new KeyValuePair<string, object?>("class", panicClass.ToTag()), new KeyValuePair<string, object?>("site", "probe"));
        Log.ProbeFault(_logger, handle.NodePath, handle.Id, panicClass.ToTag(), exception.Message, exception);
    }

    internal static TimeSpan Jitter(TimeSpan interval, ref ulong rng)
    {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        double u = ((rng >> 11) * (2.0 / (1UL << 53))) - 1.0;
        return TimeSpan.FromTicks((long)(interval.Ticks * (1 + (IntervalJitter * u))));
    }
}

/// <summary>
/// One attached probe: its timer, its run loop and its verdict slot. Created and stopped by the tick thread; runs on
/// timer and thread-pool threads.
/// </summary>
[DebuggerDisplay("{Id,nq} on {NodePath,nq}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "_stop owns no timer or handle; a CancelAsync issued by Stop may still be running, so it is left to the GC.")]
internal sealed class ProbeHandle
{
    // Smallest re-arm delay: a run that overran its interval starts the next one "at once" without recursing inside a
    // fake clock's Advance; arbitrary, far below any sensible interval.
    private static readonly TimeSpan s_minimumDelay = TimeSpan.FromMilliseconds(1);

    private readonly ProbeScheduler _scheduler;
    private readonly CancellationTokenSource _stop = new();
    private ITimer? _timer;

    // Shared: swapped by the run (any thread), read by the tick with a volatile read.
    private ProbeVerdict? _verdict;

    // Owner: the run chain (runs never overlap), except the seed set at construction.
    private ulong _rng;

    private int _stopped;
    private int _running;
    private int _disposed;

    public ProbeHandle(ProbeScheduler scheduler, IInfrastructureProbe probe, string nodePath, long attachedAt, ulong seed)
    {
        _scheduler = scheduler;
        Probe = probe;
        Id = probe.Id;
        NodePath = nodePath;
        AttachedAt = attachedAt;
        _rng = seed;
        Interval = probe.Interval;
        MissThreshold = Math.Max(1, probe.MissThreshold);
        TimeProvider time = scheduler.Time;

        // 3 × Interval (§10.1): a verdict older than that counts as unhealthy, and before the first verdict the probe
        // counts as healthy for that long.
        StaleAfter = (long)(3 * probe.Interval.TotalSeconds * time.TimestampFrequency);
    }

    public IInfrastructureProbe Probe { get; }

    public string Id { get; }

    public string NodePath { get; }

    public TimeSpan Interval { get; }

    public int MissThreshold { get; }

    /// <summary>Timestamp of the attach.</summary>
    public long AttachedAt { get; }

    /// <summary>3 × interval in timestamp units.</summary>
    public long StaleAfter { get; }

    /// <summary>Whether the probe's last run is in progress (tests).</summary>
    public bool IsRunning => Volatile.Read(ref _running) != 0;

    public ProbeVerdict? Verdict => Volatile.Read(ref _verdict);

    /// <summary>
    /// Tick thread, allocation-free: whether the probe counts as healthy at <paramref name="now"/>: its verdict is
    /// healthy and at most 3 × interval old, or it has no verdict yet and was attached at most 3 × interval ago.
    /// </summary>
    public bool IsHealthyAt(long now)
    {
        ProbeVerdict? verdict = Verdict;
        return verdict is null ? now - AttachedAt <= StaleAfter : verdict.Healthy && now - verdict.Stamp <= StaleAfter;
    }

    internal void Start()
    {
        // The first run comes after a jittered tenth of the interval (never at once), so attaching on the tick thread
        // never runs probe code there, and probes attached in one tick spread out.
        TimeSpan first = ProbeScheduler.Jitter(Interval / 10, ref _rng);
        _timer = _scheduler.Time.CreateTimer(static s => ((ProbeHandle)s!).OnTimer(), this, Max(first, s_minimumDelay), Timeout.InfiniteTimeSpan);
    }

    internal void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _timer?.Dispose();

        // CancelAsync: the probe's cancellation callbacks must not run on the tick thread.
        _ = _stop.CancelAsync();
        if (Volatile.Read(ref _running) == 0)
        {
            DisposeProbe();
        }
    }

    private void OnTimer()
    {
        if (Volatile.Read(ref _stopped) != 0 || Interlocked.Exchange(ref _running, 1) != 0)
        {
            return;
        }

        _ = RunAsync();
    }

    private async Task RunAsync()
    {
        TimeProvider time = _scheduler.Time;
        long started = time.GetTimestamp();
        ProbeOutcome outcome;
        try
        {
            using var budget = new CancellationTokenSource(Probe.RunBudget, time);
            using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(budget.Token, _stop.Token);
            outcome = await Probe.RunAsync(linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            outcome = ProbeOutcome.Miss;
            if (ex is not OperationCanceledException)
            {
                _scheduler.ReportFault(this, ex);
            }
        }

        long ended = time.GetTimestamp();
        if (Volatile.Read(ref _stopped) == 0)
        {
            ProbeVerdict verdict = ProbeVerdict.Next(Verdict, outcome, MissThreshold, time.GetElapsedTime(started, ended), ended);
            Volatile.Write(ref _verdict, verdict);
            _scheduler.Record(this, verdict);
        }

        Volatile.Write(ref _running, 0);
        if (Volatile.Read(ref _stopped) != 0)
        {
            DisposeProbe();
            return;
        }

        // Fixed rate from the start of this run, jittered; a run that overran starts the next one (almost) at once.
        TimeSpan due = ProbeScheduler.Jitter(Interval, ref _rng) - time.GetElapsedTime(started, ended);
        try
        {
            _timer?.Change(Max(due, s_minimumDelay), Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Stopped between the check and the re-arm.
        }
    }

    private void DisposeProbe()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // _stop is not disposed: a CancelAsync issued by Stop may still be running, and it owns no timer.
        if (Probe is IAsyncDisposable disposable)
        {
            // Off the tick thread: disposing may close connections.
            _ = Task.Run(async () => await disposable.DisposeAsync().ConfigureAwait(false));
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
