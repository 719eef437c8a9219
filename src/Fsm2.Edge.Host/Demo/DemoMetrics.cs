using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Fsm2.Edge.Host.Demo;

/// <summary>
/// The few instruments the demo table shows, read through a <see cref="MeterListener"/> on the <c>Fsm2.Edge*</c> meters
/// (50-runtime-monitoring §8.2 names): flow and simulator message counters per node, the observation age per node,
/// action occupancy, and the tick duration for the header's p99. The table never reads the tick's live structures.
/// </summary>
/// <remarks>
/// <para><b>The tick thread records <c>fsm2_tick_duration_seconds</c></b>, so that callback takes no lock and allocates
/// nothing: it increments one slot of a preallocated log-linear bucket array. The node-tagged counters are recorded on
/// MQTT and simulator threads; their per-node cell is created once (first message of a node) and then only added to
/// with <see cref="Interlocked"/>. Observable gauges are read by <see cref="Sample"/> on the table's thread.</para>
/// <para>Every other instrument stays disabled, so the listener costs the rest of the runtime nothing. One runtime per
/// process is the demo's case; a second runtime in the same process would add its measurements to the same cells.</para>
/// </remarks>
internal sealed class DemoMetrics : IDisposable
{
    /// <summary>Flow input per node.</summary>
    public const string FlowIn = "fsm2_flow_messages_in_total";

    /// <summary>Flow output per node.</summary>
    public const string FlowOut = "fsm2_flow_messages_out_total";

    /// <summary>Simulator publications per node.</summary>
    public const string SimulatorMessages = "fsm2_simulator_messages_total";

    /// <summary>Age of the newest observation per node (catalogue gauge; the column shows '-' while no meter publishes it).</summary>
    public const string ObservationAge = "fsm2_observation_age_seconds";

    /// <summary>Workers with an action queued or running.</summary>
    public const string ActionInFlight = "fsm2_action_inflight";

    /// <summary>Ring occupancy.</summary>
    public const string ActionQueueDepth = "fsm2_action_queue_depth";

    /// <summary>Whole-tree tick duration.</summary>
    public const string TickDuration = "fsm2_tick_duration_seconds";

    // Log-linear buckets over [1 µs, ~1 s): 8 per octave, 20 octaves. 1 µs is below any whole-tree tick this runtime
    // measures, and 1 s is ten tick intervals of the slowest profile; values outside land in the end buckets. 8 per
    // octave gives about 9 % resolution, plenty for a display value.
    private const int BucketsPerOctave = 8;
    private const int Octaves = 20;
    private const double MinSeconds = 1e-6;

    private readonly MeterListener _listener = new();

    // Shared: cells created by GetOrAdd on first use (any thread), then updated with Interlocked; read by Sample.
    private readonly ConcurrentDictionary<string, Cell> _flowIn = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Cell> _flowOut = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Cell> _simulator = new(StringComparer.Ordinal);

    // Shared: incremented by the tick thread (Interlocked), swapped out by Sample.
    private long[] _tickBuckets = new long[(BucketsPerOctave * Octaves) + 1];

    // Owner: the thread calling Sample (observable callbacks run inside RecordObservableInstruments on that thread).
    private Dictionary<string, double> _observationAge = new(StringComparer.Ordinal);
    private long _inFlight;
    private long _queueDepth;

    public DemoMetrics()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith("Fsm2.Edge", StringComparison.Ordinal)
                && instrument.Name is FlowIn or FlowOut or SimulatorMessages or ObservationAge or ActionInFlight or ActionQueueDepth or TickDuration)
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (i, v, t, s) => ((DemoMetrics)s!).Record(i.Name, v, t));
        _listener.SetMeasurementEventCallback<int>(static (i, v, t, s) => ((DemoMetrics)s!).Record(i.Name, v, t));
        _listener.SetMeasurementEventCallback<double>(static (i, v, t, s) => ((DemoMetrics)s!).Record(i.Name, v, t));
        _listener.Start();
    }

    /// <summary>Reads the gauges and returns the counters' totals and the tick durations since the previous sample.</summary>
    public DemoSample Sample()
    {
        _observationAge = new Dictionary<string, double>(StringComparer.Ordinal);
        _listener.RecordObservableInstruments();
        long[] ticks = Interlocked.Exchange(ref _tickBuckets, new long[_tickBuckets.Length]);
        return new DemoSample(
            Totals(_flowIn),
            Totals(_flowOut),
            Totals(_simulator),
            _observationAge,
            (int)Interlocked.Read(ref _inFlight),
            (int)Interlocked.Read(ref _queueDepth),
            Quantile(ticks, 0.99));
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>The <paramref name="q"/> quantile of a bucket array, as the upper edge of its bucket; null when empty.</summary>
    internal static double? Quantile(long[] buckets, double q)
    {
        long count = 0;
        foreach (long n in buckets)
        {
            count += n;
        }

        if (count == 0)
        {
            return null;
        }

        long rank = (long)Math.Ceiling(q * count);
        long seen = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            seen += buckets[i];
            if (seen >= rank)
            {
                return MinSeconds * Math.Pow(2, (double)(i + 1) / BucketsPerOctave);
            }
        }

        return MinSeconds * Math.Pow(2, (double)buckets.Length / BucketsPerOctave);
    }

    /// <summary>The bucket of a duration in seconds.</summary>
    internal static int BucketOf(double seconds)
    {
        if (!(seconds > MinSeconds))
        {
            return 0;
        }

        int bucket = (int)(Math.Log2(seconds / MinSeconds) * BucketsPerOctave);
        return Math.Min(bucket, BucketsPerOctave * Octaves);
    }

    private static Dictionary<string, long> Totals(ConcurrentDictionary<string, Cell> cells)
    {
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, Cell> cell in cells)
        {
            totals[cell.Key] = Interlocked.Read(ref cell.Value.Value);
        }

        return totals;
    }

    private static string? NodeOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            if (tag.Key == "node")
            {
                return tag.Value as string;
            }
        }

        return null;
    }

    private void Record(string instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (instrument)
        {
            case TickDuration:
                // PERF: runs on the tick thread; one Interlocked increment into a preallocated array, no allocation.
                Interlocked.Increment(ref Volatile.Read(ref _tickBuckets)[BucketOf(value)]);
                break;
            case FlowIn:
                Add(_flowIn, tags, value);
                break;
            case FlowOut:
                Add(_flowOut, tags, value);
                break;
            case SimulatorMessages:
                Add(_simulator, tags, value);
                break;
            case ObservationAge:
                if (NodeOf(tags) is { } node)
                {
                    _observationAge[node] = value;
                }

                break;
            case ActionInFlight:
                Interlocked.Exchange(ref _inFlight, (long)value);
                break;
            case ActionQueueDepth:
                Interlocked.Exchange(ref _queueDepth, (long)value);
                break;
        }
    }

    private static void Add(ConcurrentDictionary<string, Cell> cells, ReadOnlySpan<KeyValuePair<string, object?>> tags, double value)
    {
        if (NodeOf(tags) is { } node)
        {
            Interlocked.Add(ref cells.GetOrAdd(node, static _ => new Cell()).Value, (long)value);
        }
    }

    private sealed class Cell
    {
        public long Value;
    }
}

/// <summary>One reading of <see cref="DemoMetrics"/>.</summary>
/// <param name="FlowIn">Cumulative flow input per node.</param>
/// <param name="FlowOut">Cumulative flow output per node.</param>
/// <param name="Simulator">Cumulative simulator publications per node.</param>
/// <param name="ObservationAgeSeconds">Observation age per node, where a meter publishes it.</param>
/// <param name="ActionsInFlight">Workers with an action queued or running.</param>
/// <param name="QueueDepth">Actions in the ring.</param>
/// <param name="TickP99Seconds">The p99 tick duration since the previous reading; null without ticks.</param>
internal sealed record DemoSample(
    IReadOnlyDictionary<string, long> FlowIn,
    IReadOnlyDictionary<string, long> FlowOut,
    IReadOnlyDictionary<string, long> Simulator,
    IReadOnlyDictionary<string, double> ObservationAgeSeconds,
    int ActionsInFlight,
    int QueueDepth,
    double? TickP99Seconds)
{
    /// <summary>A reading with nothing in it.</summary>
    public static DemoSample Empty { get; } = new(
        new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, double>(), 0, 0, null);
}
