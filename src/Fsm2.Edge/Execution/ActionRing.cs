using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fsm2.Edge.Execution;

/// <summary>
/// A bounded, preallocated ring queue in the style of Dmitry Vyukov's array queue: every cell carries a sequence
/// number that says whose turn it is. <see cref="TryEnqueue"/> is for the single producer (the tick thread) and
/// needs no compare-and-swap; <see cref="TryEnqueueShared"/> is for many producers (the completion path);
/// <see cref="TryDequeue"/> may be called by any number of consumers.
/// </summary>
/// <remarks>
/// Neither side ever blocks or spins on the other: a full ring makes enqueue return <see langword="false"/> at once,
/// an empty ring makes dequeue return <see langword="false"/> at once. Every cross-thread access goes through
/// <see cref="Volatile"/> or <see cref="Interlocked"/>, which keeps it correct on weakly ordered ARM64.
/// PERF: no locks and no allocation after construction; proven by RingBenchmarks.EnqueueDequeuePair (0 B) and
/// ActionRingTests.EnqueueDequeue_SteadyState_Allocates0Bytes.
/// </remarks>
/// <typeparam name="T">The item; action requests carry an envelope index.</typeparam>
[DebuggerDisplay("Count = {Count}, Capacity = {Capacity}")]
internal sealed class ActionRing<T>
{
    /// <summary>The smallest capacity (40-actions §4).</summary>
    public const int MinCapacity = 16;

    /// <summary>The largest capacity (40-actions §4).</summary>
    public const int MaxCapacity = 65_536;

    private readonly Cell[] _cells;
    private readonly long _mask;

    // The two positions sit 128 bytes apart, and 128 bytes away from anything else, so the producer and the
    // consumers never share a cache line (128, not 64: ARM64 cores prefetch adjacent line pairs).
    private RingPositions _positions;

    /// <summary>Creates a ring.</summary>
    /// <param name="capacity">A power of two from 16 to 65,536.</param>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is out of range or not a power of two.</exception>
    public ActionRing(int capacity)
        : this(capacity, MaxCapacity)
    {
    }

    /// <summary>
    /// Creates a ring that may be larger than <see cref="MaxCapacity"/>: the completion ring of the executor is sized
    /// to the envelope count (request capacity + threads + leak budget, rounded up), which can exceed 65,536.
    /// </summary>
    /// <param name="capacity">A power of two from 16 to <paramref name="maxCapacity"/>.</param>
    /// <param name="maxCapacity">The largest accepted capacity.</param>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is out of range or not a power of two.</exception>
    internal ActionRing(int capacity, int maxCapacity)
    {
        if (capacity < MinCapacity || capacity > maxCapacity || !BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"ring capacity must be a power of two from {MinCapacity} to {maxCapacity}");
        }

        _cells = new Cell[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _cells[i].Sequence = i;
        }

        _mask = capacity - 1;
    }

    /// <summary>The number of cells.</summary>
    public int Capacity => _cells.Length;

    /// <summary>An instantaneous, approximate item count (exact when no other thread is active).</summary>
    public int Count
    {
        get
        {
            long count = Volatile.Read(ref _positions.Enqueue) - Volatile.Read(ref _positions.Dequeue);
            return (int)Math.Clamp(count, 0, _cells.Length);
        }
    }

    /// <summary>Single producer only: adds <paramref name="item"/> unless the ring is full. Never waits.</summary>
    /// <param name="item">The item.</param>
    /// <returns><see langword="false"/> when the ring is full.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(T item)
    {
        long position = _positions.Enqueue;
        ref Cell cell = ref CellAt(position);
        if (Volatile.Read(ref cell.Sequence) != position)
        {
            // The consumer that owns this cell from the previous lap has not released it: full.
            return false;
        }

        cell.Item = item;
        Volatile.Write(ref cell.Sequence, position + 1);
        Volatile.Write(ref _positions.Enqueue, position + 1);
        return true;
    }

    /// <summary>Any number of producers: adds <paramref name="item"/> unless the ring is full. Never waits.</summary>
    /// <param name="item">The item.</param>
    /// <returns><see langword="false"/> when the ring is full.</returns>
    public bool TryEnqueueShared(T item)
    {
        while (true)
        {
            long position = Volatile.Read(ref _positions.Enqueue);
            ref Cell cell = ref CellAt(position);
            long difference = Volatile.Read(ref cell.Sequence) - position;
            if (difference == 0)
            {
                if (Interlocked.CompareExchange(ref _positions.Enqueue, position + 1, position) == position)
                {
                    cell.Item = item;
                    Volatile.Write(ref cell.Sequence, position + 1);
                    return true;
                }
            }
            else if (difference < 0)
            {
                return false;
            }

            // Another producer claimed this position first: retry with the new one.
        }
    }

    /// <summary>Any consumer: takes the oldest item, if any. Never waits.</summary>
    /// <param name="item">The item taken.</param>
    /// <returns><see langword="false"/> when the ring is empty.</returns>
    public bool TryDequeue(out T item)
    {
        while (true)
        {
            long position = Volatile.Read(ref _positions.Dequeue);
            ref Cell cell = ref CellAt(position);
            long difference = Volatile.Read(ref cell.Sequence) - (position + 1);
            if (difference == 0)
            {
                if (Interlocked.CompareExchange(ref _positions.Dequeue, position + 1, position) == position)
                {
                    item = cell.Item;
                    if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
                    {
                        cell.Item = default!;
                    }

                    // Hand the cell to the producer of the next lap.
                    Volatile.Write(ref cell.Sequence, position + _mask + 1);
                    return true;
                }
            }
            else if (difference < 0)
            {
                item = default!;
                return false;
            }

            // Another consumer took this position first: retry with the new one.
        }
    }

    /// <summary>
    /// Dequeues with a single consumer (the tick draining completions): the position is owned by the caller, so no
    /// compare-and-swap is needed. Must not be mixed with <see cref="TryDequeue"/> on the same ring.
    /// </summary>
    /// <remarks>PERF: one acquire read of the cell's sequence and two release writes; no locked instruction.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDequeueSingle(out T item)
    {
        long position = _positions.Dequeue;
        ref Cell cell = ref CellAt(position);
        if (Volatile.Read(ref cell.Sequence) != position + 1)
        {
            item = default!;
            return false;
        }

        item = cell.Item;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            cell.Item = default!;
        }

        // Hand the cell to the producers of the next lap, then publish the position (read by Count).
        Volatile.Write(ref cell.Sequence, position + _mask + 1);
        Volatile.Write(ref _positions.Dequeue, position + 1);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Cell CellAt(long position)
        => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_cells), (nint)(position & _mask));

    [DebuggerDisplay("{Sequence}: {Item}")]
    private struct Cell
    {
        public long Sequence;
        public T Item;
    }
}

/// <summary>
/// The producer and consumer positions of an <see cref="ActionRing{T}"/>, each alone on its own 128-byte region.
/// Not nested in the generic ring: the runtime refuses explicit layout on generic types.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 384)]
internal struct RingPositions
{
    [FieldOffset(128)]
    public long Enqueue;

    [FieldOffset(256)]
    public long Dequeue;
}
