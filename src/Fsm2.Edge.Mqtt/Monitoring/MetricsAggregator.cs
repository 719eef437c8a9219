using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>
/// Aggregates every instrument of the <c>Fsm2.Edge</c> meters through a <see cref="MeterListener"/> for the JSON
/// snapshot (shared/spec/50-runtime-monitoring.md §6.4, §8.1).
/// </summary>
/// <remarks>
/// <para><b>The measurement path may be the tick thread</b> (the core records a few counters there), so it takes no lock
/// and allocates nothing once a series exists: the instrument's state object arrives as the listener's state, the series
/// is found by a linear scan comparing tags (tag values are cached strings, compared with <c>Equals</c>), and values are
/// added with <see cref="Interlocked"/>. Only the first measurement of a new series allocates (copy-on-write under a
/// lock). PERF: proven by <c>MonitoringAllocationTests.M28_*</c> (tick thread 0 B over 10,000 ticks with this listener).</para>
/// <para><b>Semantics.</b> Counters are cumulative since the listener attached (the publisher attaches at start-up, so in
/// practice since process start); up-down counters and gauges report the current value; observable instruments are
/// read by <see cref="Collect"/> on the caller's thread and a series not reported in that read is gone (its node was
/// finalized); histograms carry a cumulative count and sum plus the quantiles and maximum of the samples since the
/// previous <see cref="Collect"/>, from log-linear buckets (about 9 % relative resolution).</para>
/// </remarks>
internal sealed class MetricsAggregator : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Func<Meter, bool> _meterFilter;
    private readonly Lock _instrumentsLock = new();
    private readonly List<InstrumentState> _instruments = [];

    // Incremented by Collect before reading observable instruments; stamps which observable series are current.
    private long _collection;

    public MetricsAggregator(Func<Meter, bool> meterFilter)
    {
        _meterFilter = meterFilter;
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.MeasurementsCompleted = OnMeasurementsCompleted;
        _listener.SetMeasurementEventCallback<long>(static (i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<int>(static (i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<double>(static (i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<float>(static (i, v, t, s) => ((InstrumentState)s!).Record(v, t));
        _listener.Start();
    }

    /// <summary>Reads the observable instruments and returns every current series (tags sorted by key).</summary>
    public List<MetricPoint> Collect()
    {
        long collection = Interlocked.Increment(ref _collection);
        _listener.RecordObservableInstruments();
        InstrumentState[] instruments;
        lock (_instrumentsLock)
        {
            instruments = [.. _instruments];
        }

        var points = new List<MetricPoint>();
        foreach (InstrumentState instrument in instruments)
        {
            instrument.AppendPoints(points, collection);
        }

        return points;
    }

    public void Dispose() => _listener.Dispose();

    // The upper bound of the bucket holding the q-quantile, never above the interval's true maximum.
    internal static double Quantile(long[] buckets, double q, double max)
    {
        long total = 0;
        foreach (long count in buckets)
        {
            total += count;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            seen += buckets[i];
            if (seen >= rank)
            {
                double upper = i == 0 ? 0 : Math.Pow(2, Series.MinExponentValue + ((double)i / Series.BucketsPerOctaveValue));
                return Math.Min(upper, max);
            }
        }

        return max;
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_meterFilter(instrument.Meter))
        {
            return;
        }

        var state = new InstrumentState(instrument, this);
        lock (_instrumentsLock)
        {
            _instruments.Add(state);
        }

        listener.EnableMeasurementEvents(instrument, state);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is InstrumentState instrumentState)
        {
            lock (_instrumentsLock)
            {
                _instruments.Remove(instrumentState);
            }
        }
    }

    /// <summary>How an instrument's values combine.</summary>
    internal enum Kind : byte
    {
        Counter,
        ObservableCounter,
        Gauge,
        Histogram,
    }

    /// <summary>The series of one instrument.</summary>
    [DebuggerDisplay("{Instrument.Name}: {_series.Length} series")]
    private sealed class InstrumentState
    {
        private readonly MetricsAggregator _owner;
        private readonly Lock _addLock = new();
        private readonly bool _upDown;
        private Series[] _series = [];

        public InstrumentState(Instrument instrument, MetricsAggregator owner)
        {
            Instrument = instrument;
            _owner = owner;
            Kind = instrument switch
            {
                Counter<long> or Counter<int> or Counter<double> or Counter<float> => Kind.Counter,
                ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double> or ObservableCounter<float> => Kind.ObservableCounter,
                Histogram<long> or Histogram<int> or Histogram<double> or Histogram<float> => Kind.Histogram,
                _ => Kind.Gauge,
            };
            IsObservable = instrument.IsObservable;
            _upDown = instrument is UpDownCounter<long> or UpDownCounter<int> or UpDownCounter<double> or UpDownCounter<float>;
        }

        public Instrument Instrument { get; }

        public Kind Kind { get; }

        public bool IsObservable { get; }

        // The measurement path: no lock, no allocation once the series exists.
        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Series series = Find(tags) ?? Add(tags);
            switch (Kind)
            {
                case Kind.Counter when !IsUpDown():
                    series.Add(value);
                    break;
                case Kind.Histogram:
                    series.RecordSample(value);
                    break;
                default:
                    if (IsUpDown())
                    {
                        series.Add(value);
                    }
                    else
                    {
                        series.Set(value, Volatile.Read(ref _owner._collection));
                    }

                    break;
            }
        }

        public void AppendPoints(List<MetricPoint> points, long collection)
        {
            foreach (Series series in Volatile.Read(ref _series))
            {
                if (IsObservable && series.ObservedIn != collection)
                {
                    continue;
                }

                string type = Kind switch
                {
                    Kind.Counter when !IsUpDown() => "counter",
                    Kind.ObservableCounter => "counter",
                    Kind.Histogram => "histogram",
                    _ => "gauge",
                };
                points.Add(series.ToPoint(Instrument.Name, type));
            }
        }

        // UpDownCounter<T> reports its running sum as a gauge.
        private bool IsUpDown() => _upDown;

        private Series? Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (Series series in Volatile.Read(ref _series))
            {
                if (series.TagsEqual(tags))
                {
                    return series;
                }
            }

            return null;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private Series Add(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_addLock)
            {
                Series? existing = Find(tags);
                if (existing is not null)
                {
                    return existing;
                }

                var series = new Series(tags.ToArray());
                Volatile.Write(ref _series, [.. _series, series]);
                return series;
            }
        }
    }

    /// <summary>One tag combination of one instrument.</summary>
    private sealed class Series
    {
        // Log-linear buckets: 8 per power of two from 2^-40 (about 1e-12) to 2^24 (about 1.7e7): 512 buckets, 4 KiB.
        // Arbitrary range; it covers nanosecond tick durations to multi-day uptimes in seconds. Values outside clamp.
        private const int BucketsPerOctave = 8;
        private const int MinExponent = -40;
        private const int BucketCount = 64 * BucketsPerOctave;

        public const int BucketsPerOctaveValue = BucketsPerOctave;

        public const int MinExponentValue = MinExponent;

        private readonly KeyValuePair<string, object?>[] _tags;
        private double _value;
        private long _count;
        private double _sum;
        private long[]? _buckets;
        private long _intervalCount;
        private double _intervalMax = double.NegativeInfinity;

        public Series(KeyValuePair<string, object?>[] tags)
        {
            _tags = tags;
        }

        public long ObservedIn { get; private set; }

        public bool TagsEqual(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != _tags.Length)
            {
                return false;
            }

            for (int i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(tags[i].Key, _tags[i].Key, StringComparison.Ordinal) || !Equals(tags[i].Value, _tags[i].Value))
                {
                    return false;
                }
            }

            return true;
        }

        public void Add(double value) => AddDouble(ref _value, value);

        public void Set(double value, long collection)
        {
            Volatile.Write(ref _value, value);
            ObservedIn = collection;
        }

        public void RecordSample(double value)
        {
            long[] buckets = Volatile.Read(ref _buckets) ?? CreateBuckets();
            Interlocked.Increment(ref _count);
            AddDouble(ref _sum, value);
            Interlocked.Increment(ref buckets[BucketOf(value)]);
            Interlocked.Increment(ref _intervalCount);
            double max = Volatile.Read(ref _intervalMax);
            while (value > max)
            {
                double seen = Interlocked.CompareExchange(ref _intervalMax, value, max);
                if (seen == max)
                {
                    break;
                }

                max = seen;
            }
        }

        public MetricPoint ToPoint(string name, string type)
        {
            KeyValuePair<string, string>[] tags = new KeyValuePair<string, string>[_tags.Length];
            for (int i = 0; i < _tags.Length; i++)
            {
                tags[i] = new KeyValuePair<string, string>(_tags[i].Key, Convert.ToString(_tags[i].Value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
            }

            Array.Sort(tags, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            if (type != "histogram")
            {
                return new MetricPoint(name, type, tags, Volatile.Read(ref _value), 0, 0, null);
            }

            // Take the interval's buckets (the reset races with concurrent samples by at most the samples in flight, which
            // then count in the next interval).
            long[] buckets = Volatile.Read(ref _buckets) ?? CreateBuckets();
            long[] interval = new long[BucketCount];
            for (int i = 0; i < BucketCount; i++)
            {
                interval[i] = Interlocked.Exchange(ref buckets[i], 0);
            }

            long intervalCount = Interlocked.Exchange(ref _intervalCount, 0);
            double max = Interlocked.Exchange(ref _intervalMax, double.NegativeInfinity);
            HistogramSummary? summary = intervalCount == 0
                ? null
                : HistogramSummary.From(interval, max);
            return new MetricPoint(name, type, tags, 0, Interlocked.Read(ref _count), Volatile.Read(ref _sum), summary);
        }

        internal static int BucketOf(double value)
        {
            if (!(value > 0))
            {
                return 0;
            }

            int index = (int)Math.Floor((Math.Log2(value) - MinExponent) * BucketsPerOctave) + 1;
            return Math.Clamp(index, 0, BucketCount - 1);
        }

        private static void AddDouble(ref double target, double value)
        {
            double current = Volatile.Read(ref target);
            while (true)
            {
                double seen = Interlocked.CompareExchange(ref target, current + value, current);
                if (seen.Equals(current))
                {
                    return;
                }

                current = seen;
            }
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private long[] CreateBuckets()
        {
            Interlocked.CompareExchange(ref _buckets, new long[BucketCount], null);
            return _buckets!;
        }
    }
}

/// <summary>The interval part of a histogram series: quantiles, maximum and the raw buckets (for merging).</summary>
internal sealed record HistogramSummary(double P50, double P90, double P99, double Max, long[] Buckets)
{
    /// <summary>Summarises interval buckets whose largest sample was <paramref name="max"/>.</summary>
    public static HistogramSummary From(long[] buckets, double max) =>
        new(MetricsAggregator.Quantile(buckets, 0.50, max), MetricsAggregator.Quantile(buckets, 0.90, max),
            MetricsAggregator.Quantile(buckets, 0.99, max), max, buckets);

    /// <summary>Merges two summaries of the same instrument (node labels aggregated away).</summary>
    public static HistogramSummary? Merge(HistogramSummary? a, HistogramSummary? b)
    {
        if (a is null || b is null)
        {
            return a ?? b;
        }

        long[] buckets = new long[a.Buckets.Length];
        for (int i = 0; i < buckets.Length; i++)
        {
            buckets[i] = a.Buckets[i] + b.Buckets[i];
        }

        return From(buckets, Math.Max(a.Max, b.Max));
    }
}

/// <summary>One exported series.</summary>
/// <param name="Name">The instrument name.</param>
/// <param name="Type"><c>counter</c>, <c>gauge</c> or <c>histogram</c>.</param>
/// <param name="Tags">Tags sorted by key.</param>
/// <param name="Value">Counter or gauge value.</param>
/// <param name="Count">Histogram: cumulative sample count.</param>
/// <param name="Sum">Histogram: cumulative sum.</param>
/// <param name="Interval">Histogram: the last interval's summary, or <see langword="null"/> without samples.</param>
internal sealed record MetricPoint(string Name, string Type, KeyValuePair<string, string>[] Tags, double Value, long Count, double Sum,
    HistogramSummary? Interval);
