namespace Fsm2.Edge.Execution;

/// <summary>One accepted action result kept in a worker's history (40-actions §9). Stamps are UTC ticks.</summary>
internal readonly record struct ActionHistoryEntry(
    string Kind,
    ActionOutcome Outcome,
    string? Error,
    long EnqueuedAt,
    long CompletedAt,
    TimeSpan Duration);

/// <summary>
/// The last <see cref="Depth"/> results of one worker, in a fixed ring: cold data, read by status and diagnostics,
/// never by <c>Next</c>. Owner: tick thread (appends); readers copy with <see cref="CopyTo"/> on the tick thread.
/// </summary>
internal sealed class ActionHistory
{
    /// <summary>The spec's history depth (40-actions §9, §17 <c>ActionHistoryDepth</c> default).</summary>
    public const int Depth = 32;

    private readonly ActionHistoryEntry[] _entries = new ActionHistoryEntry[Depth];
    private long _appended;

    /// <summary>How many results are held (at most <see cref="Depth"/>).</summary>
    public int Count => (int)Math.Min(_appended, Depth);

    /// <summary>How many results were ever appended.</summary>
    public long TotalAppended => _appended;

    /// <summary>Overwrites the oldest entry once the ring is full: bounded, unlike the Go original (§18 item 5).</summary>
    public void Append(in ActionHistoryEntry entry)
    {
        _entries[(int)(_appended % Depth)] = entry;
        _appended++;
    }

    /// <summary>The held entries, oldest first (allocates; status and tests only).</summary>
    public ActionHistoryEntry[] ToArray()
    {
        var result = new ActionHistoryEntry[Count];
        CopyTo(result);
        return result;
    }

    /// <summary>Copies the held entries, oldest first, into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<ActionHistoryEntry> destination)
    {
        int count = Count;
        long first = _appended - count;
        for (int i = 0; i < count; i++)
        {
            destination[i] = _entries[(int)((first + i) % Depth)];
        }
    }
}
