using System.Diagnostics.Metrics;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Tests.Performance;

/// <summary>
/// A <see cref="MeterListener"/> on one runtime's meter, as an exporter attaches it (70-performance §5 W1: "metrics
/// listener attached and exporting"). Recording callbacks run on the recording thread (the tick thread for counters and
/// histograms), so they only add to fields: they allocate nothing, and a steady tick measured with this listener
/// attached pays for the real callback path. The derive counter's <c>node</c> tag is kept per node only when a test asks
/// for it (<see cref="CountDerivesPerNode"/>), because that bookkeeping allocates.
/// </summary>
internal sealed class RuntimeMetricsListener : IDisposable
{
    private readonly MeterListener _listener;
    private readonly Dictionary<string, int> _derivesPerNode = new(StringComparer.Ordinal);
    private ManualResetEventSlim? _stopExporting;
    private Thread? _exporter;
    private long _measurements;
    private long _tickDurations;
    private long _derives;
    private long _renders;
    private long _stateTransitions;
    private long _queueFull;
    private long _exports;

    public RuntimeMetricsListener(SupervisorRuntime runtime)
    {
        // Only this runtime's meter: every runtime names its meter "Fsm2.Edge", and tests run in parallel.
        Meter meter = runtime.Metrics.Ticks.Meter;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    listener.EnableMeasurementEvents(instrument, this);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, tags, state) => ((RuntimeMetricsListener)state!).OnLong(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, _, _, state) => Interlocked.Increment(ref ((RuntimeMetricsListener)state!)._measurements));
        _listener.SetMeasurementEventCallback<double>(static (instrument, _, _, state) => ((RuntimeMetricsListener)state!).OnDouble(instrument));
        _listener.Start();
    }

    /// <summary>When set, every <c>fsm2_derive_total</c> measurement is also counted under its <c>node</c> tag.</summary>
    public bool CountDerivesPerNode { get; set; }

    /// <summary>Every measurement received, on any thread (observable instruments included).</summary>
    public long Measurements => Interlocked.Read(ref _measurements);

    /// <summary><c>fsm2_tick_duration_seconds</c> recordings: one per tick while the listener is attached.</summary>
    public long TickDurations => Interlocked.Read(ref _tickDurations);

    /// <summary>Sum of <c>fsm2_derive_total</c>.</summary>
    public long Derives => Interlocked.Read(ref _derives);

    /// <summary>Sum of <c>fsm2_template_renders_total</c>.</summary>
    public long Renders => Interlocked.Read(ref _renders);

    /// <summary>Sum of <c>fsm2_state_transitions_total</c>.</summary>
    public long StateTransitions => Interlocked.Read(ref _stateTransitions);

    /// <summary>Sum of <c>fsm2_action_queue_full_total</c>.</summary>
    public long QueueFull => Interlocked.Read(ref _queueFull);

    /// <summary>How many exports (<see cref="MeterListener.RecordObservableInstruments"/>) the exporter thread ran.</summary>
    public long Exports => Interlocked.Read(ref _exports);

    /// <summary>Derives counted per node path since <see cref="CountDerivesPerNode"/> was set (tick thread only).</summary>
    public IReadOnlyDictionary<string, int> DerivesPerNode => _derivesPerNode;

    /// <summary>
    /// Starts an exporter thread that reads every observable instrument about every <paramref name="interval"/> until
    /// <see cref="StopExporting"/>, as the metrics exporter does beside the tick thread.
    /// </summary>
    public void StartExporting(TimeSpan interval)
    {
        _stopExporting = new ManualResetEventSlim();
        ManualResetEventSlim stop = _stopExporting;
        _exporter = new Thread(() =>
        {
            do
            {
                _listener.RecordObservableInstruments();
                Interlocked.Increment(ref _exports);
            }
            while (!stop.Wait(interval));
        })
        { IsBackground = true, Name = "pf-metrics-exporter" };
        _exporter.Start();
    }

    /// <summary>Stops the exporter thread and waits for it (bounded).</summary>
    public void StopExporting()
    {
        _stopExporting?.Set();
        if (_exporter is not null && !_exporter.Join(TestSupport.Wait.DefaultTimeout))
        {
            throw new TimeoutException("the exporter thread did not stop");
        }

        _exporter = null;
        _stopExporting?.Dispose();
        _stopExporting = null;
    }

    public void Dispose()
    {
        StopExporting();
        _listener.Dispose();
    }

    private void OnLong(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        Interlocked.Increment(ref _measurements);
        switch (instrument.Name)
        {
            case "fsm2_derive_total":
                Interlocked.Add(ref _derives, value);
                if (CountDerivesPerNode)
                {
                    foreach (KeyValuePair<string, object?> tag in tags)
                    {
                        if (tag.Key == "node" && tag.Value is string node)
                        {
                            _derivesPerNode[node] = _derivesPerNode.GetValueOrDefault(node) + (int)value;
                        }
                    }
                }

                break;
            case "fsm2_template_renders_total":
                Interlocked.Add(ref _renders, value);
                break;
            case "fsm2_state_transitions_total":
                Interlocked.Add(ref _stateTransitions, value);
                break;
            case "fsm2_action_queue_full_total":
                Interlocked.Add(ref _queueFull, value);
                break;
        }
    }

    private void OnDouble(Instrument instrument)
    {
        Interlocked.Increment(ref _measurements);
        if (instrument.Name == "fsm2_tick_duration_seconds")
        {
            Interlocked.Increment(ref _tickDurations);
        }
    }
}
