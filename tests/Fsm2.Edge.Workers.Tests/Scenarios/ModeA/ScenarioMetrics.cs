using System.Diagnostics.Metrics;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// The in-process <see cref="MeterListener"/> of mode A. It listens only to this harness's meters: those created on the
/// test thread while <see cref="Capture{T}"/> builds the runtime, and those of <see cref="MeterFactory"/> (the worker
/// pack), so parallel tests with their own runtimes do not leak into the figures. Counters and histograms are summed
/// per series (histograms count samples); observable instruments are read on demand.
/// </summary>
internal sealed class ScenarioMetrics : IDisposable
{
    [ThreadStatic]
    private static ScenarioMetrics? t_capturing;

    private readonly MeterListener _listener = new();
    private readonly HashSet<Meter> _meters = [];
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Series>> _series = new(StringComparer.Ordinal);

    public ScenarioMetrics()
    {
        MeterFactory = new OwnMeterFactory(this);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            bool ours;
            lock (_lock)
            {
                if (t_capturing == this)
                {
                    _meters.Add(instrument.Meter);
                }

                ours = _meters.Contains(instrument.Meter);
            }

            if (ours)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>A meter factory whose meters this listener follows.</summary>
    public IMeterFactory MeterFactory { get; }

    /// <summary>Runs <paramref name="create"/> on this thread, adopting every meter that publishes an instrument meanwhile.</summary>
    public T Capture<T>(Func<T> create)
    {
        t_capturing = this;
        try
        {
            return create();
        }
        finally
        {
            t_capturing = null;
        }
    }

    /// <summary>The sum (counters), sample count (histograms) or latest value (observable gauges) over every series of
    /// <paramref name="name"/> whose tags include all of <paramref name="tags"/>.</summary>
    public double Value(string name, params (string Key, string Value)[] tags)
    {
        _listener.RecordObservableInstruments();
        lock (_lock)
        {
            if (!_series.TryGetValue(name, out List<Series>? list))
            {
                return 0;
            }

            return list.Where(s => tags.All(t => s.Tags.TryGetValue(t.Key, out string? v) && v == t.Value)).Sum(s => s.Value);
        }
    }

    /// <summary>Whether any measurement of <paramref name="name"/> was seen.</summary>
    public bool Seen(string name)
    {
        _listener.RecordObservableInstruments();
        lock (_lock)
        {
            return _series.ContainsKey(name);
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        lock (_lock)
        {
            foreach (Meter meter in _meters)
            {
                if (MeterFactory is OwnMeterFactory own && own.Owns(meter))
                {
                    meter.Dispose();
                }
            }
        }
    }

    private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct
    {
        double v = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
        var tagMap = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            tagMap[tag.Key] = Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
        }

        string key = string.Join(",", tagMap.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value));
        bool observable = instrument.IsObservable;
        bool histogram = instrument is Histogram<T>;
        lock (_lock)
        {
            if (!_series.TryGetValue(instrument.Name, out List<Series>? list))
            {
                list = [];
                _series[instrument.Name] = list;
            }

            Series? series = list.Find(s => s.Key == key);
            if (series is null)
            {
                series = new Series(key, tagMap);
                list.Add(series);
            }

            series.Value = observable ? v : series.Value + (histogram ? 1 : v);
        }
    }

    private sealed class Series(string key, Dictionary<string, string> tags)
    {
        public string Key { get; } = key;

        public Dictionary<string, string> Tags { get; } = tags;

        public double Value { get; set; }
    }

    private sealed class OwnMeterFactory(ScenarioMetrics owner) : IMeterFactory
    {
        private readonly List<Meter> _created = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version);
            lock (owner._lock)
            {
                owner._meters.Add(meter);
                _created.Add(meter);
            }

            return meter;
        }

        public bool Owns(Meter meter) => _created.Contains(meter);

        public void Dispose()
        {
            // The owner disposes the meters.
        }
    }
}
