namespace Fsm2.Edge.Collection;

/// <summary>
/// A scheduler for tests and benchmarks: nothing runs until <see cref="RunDue"/> is called, which starts every due
/// collection on the calling thread through the production publishing path. Intervals are measured on the injected
/// <see cref="TimeProvider"/> (normally a fake clock), so tests never sleep.
/// </summary>
/// <remarks>Thread-safe through one lock; it is a test tool and not on the production tick path.</remarks>
public sealed class ManualObservationScheduler : IObservationScheduler
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly List<Entry> _entries = [];

    /// <summary>Creates the scheduler.</summary>
    /// <param name="time">The clock that decides which collections are due.</param>
    public ManualObservationScheduler(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
    }

    /// <summary>The collectors currently scheduled.</summary>
    public IReadOnlyList<Collector> Collectors
    {
        get
        {
            lock (_lock)
            {
                return _entries.ConvertAll(e => e.Collector);
            }
        }
    }

    /// <summary>Collections started by <see cref="RunDue"/> that have not completed yet.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count(e => e.Running is { IsCompleted: false });
            }
        }
    }

    /// <inheritdoc/>
    public void Start(Collector collector)
    {
        ArgumentNullException.ThrowIfNull(collector);
        var entry = new Entry(collector) { NextDue = _time.GetUtcNow() };
        lock (_lock)
        {
            _entries.Add(entry);
        }

        // O(1) RequestCollection: the tick requests a collection after every action completion.
        collector.SchedulerState = entry;
    }

    /// <inheritdoc/>
    public void Restart(Collector collector)
    {
        Stop(collector);
        Start(collector);
    }

    /// <inheritdoc/>
    public void Stop(Collector collector)
    {
        lock (_lock)
        {
            int i = _entries.FindIndex(e => ReferenceEquals(e.Collector, collector));
            if (i >= 0)
            {
                _entries[i].Stop.Cancel();
                if (ReferenceEquals(collector.SchedulerState, _entries[i]))
                {
                    collector.SchedulerState = null;
                }

                _entries.RemoveAt(i);
            }
        }
    }

    /// <inheritdoc/>
    public void RequestCollection(Collector collector)
    {
        if (collector?.SchedulerState is Entry entry)
        {
            lock (_lock)
            {
                entry.Pending = true;
            }
        }
    }

    /// <summary>
    /// Starts every collection that is due (interval elapsed, or requested) and not already running. Collections that
    /// complete synchronously have published when this returns; others publish when they complete.
    /// </summary>
    /// <returns>How many collections were started.</returns>
    public int RunDue()
    {
        DateTimeOffset now = _time.GetUtcNow();
        List<Entry> due = [];
        lock (_lock)
        {
            foreach (Entry entry in _entries)
            {
                if (entry.Running is { IsCompleted: false })
                {
                    continue;
                }

                if (entry.Pending || now >= entry.NextDue)
                {
                    entry.Pending = false;
                    entry.NextDue = now + entry.Collector.Interval;
                    due.Add(entry);
                }
            }
        }

        foreach (Entry entry in due)
        {
            ValueTask run = entry.Collector.CollectOnceAsync(entry.Stop.Token);
            entry.Running = run.IsCompleted ? null : run.AsTask();
        }

        return due.Count;
    }

    /// <summary>Waits until every started collection has completed (they complete when the fake clock advances).</summary>
    /// <returns>A task that completes when nothing is in flight.</returns>
    public Task WhenIdleAsync()
    {
        lock (_lock)
        {
            return Task.WhenAll(_entries.Where(e => e.Running is not null).Select(e => e.Running!));
        }
    }

    private sealed class Entry(Collector collector)
    {
        public Collector Collector { get; } = collector;

        public CancellationTokenSource Stop { get; } = new();

        public DateTimeOffset NextDue { get; set; }

        public bool Pending { get; set; }

        public Task? Running { get; set; }
    }
}
