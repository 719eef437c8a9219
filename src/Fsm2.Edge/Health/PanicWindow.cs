using System.Diagnostics;

namespace Fsm2.Edge.Health;

/// <summary>
/// The panic breaker of one node (30-supervision §9.3): a fixed ring holding the stamps (and classes) of the last
/// <c>MaxPanics</c> counted panics, allocated once per node. It opens when a counted panic brings the number of counted
/// panics within the window up to <c>MaxPanics</c>, and closes at the first tick at which the newest counted stamp is at
/// least one window old.
/// </summary>
/// <remarks>Owner: tick thread.</remarks>
[DebuggerDisplay("open={IsOpen} count={Count}")]
internal struct PanicWindow
{
    private readonly long[] _stamps;
    private readonly PanicClass[] _classes;
    private int _next;
    private int _count;

    public bool IsOpen;

    public PanicWindow(int maxPanics)
    {
        _stamps = new long[maxPanics];
        _classes = new PanicClass[maxPanics];
    }

    /// <summary>Counted panics held in the ring (at most <c>MaxPanics</c>).</summary>
    public readonly int Count => _count;

    /// <summary>Records one counted panic; <see langword="true"/> when this panic opens the breaker.</summary>
    public bool Record(long now, long window, PanicClass panicClass)
    {
        _stamps[_next] = now;
        _classes[_next] = panicClass;
        _next = (_next + 1) % _stamps.Length;
        if (_count < _stamps.Length)
        {
            _count++;
        }

        // After the write, _stamps[_next] is the oldest stamp of a full ring.
        bool full = _count == _stamps.Length && now - _stamps[_next] < window;
        bool opened = full && !IsOpen;
        IsOpen |= full;
        return opened;
    }

    /// <summary>Closes the breaker when the window has emptied; <see langword="true"/> when it closed now.</summary>
    public bool TryClose(long now, long window)
    {
        if (!IsOpen)
        {
            return false;
        }

        long newest = _stamps[(_next + _stamps.Length - 1) % _stamps.Length];
        if (now - newest < window)
        {
            return false;
        }

        IsOpen = false;
        return true;
    }

    /// <summary>Counted panics whose stamp lies within <paramref name="window"/> of <paramref name="now"/> (status only).</summary>
    public readonly int CountWithin(long now, long window)
    {
        int n = 0;
        for (int i = 0; i < _count; i++)
        {
            if (now - _stamps[i] < window)
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>The classes held in the ring, comma-separated (cold path: the opening log line).</summary>
    public readonly string Classes()
    {
        var names = new string[_count];
        for (int i = 0; i < _count; i++)
        {
            names[i] = _classes[i].ToTag();
        }

        return string.Join(",", names);
    }
}
