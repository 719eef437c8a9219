using System.Diagnostics.Metrics;
using System.Globalization;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Observability;

/// <summary>
/// The tree, tick and process instruments of the catalogue (50-runtime-monitoring §8.2). Everything here is observable:
/// the tick thread writes plain fields or publishes its immutable status, and a listener reads them on its own thread
/// (§8.1), so the tick never calls a Meter API for these.
/// </summary>
internal sealed partial class EdgeMetrics
{
    // Owner: tick thread (writes); the observable counter reads it from any thread.
    private long _ticks;

    // Written once per drain (tick thread); read by the gauge. Seconds as the bits of a double; NaN before any drain.
    private long _shutdownSecondsBits = BitConverter.DoubleToInt64Bits(double.NaN);

    // Set once by the runtime; the clock of the age gauges.
    private TimeProvider? _time;

    /// <summary>Ticks counted by <see cref="CountTick"/>.</summary>
    public long TickTotal => Volatile.Read(ref _ticks);

    /// <summary>Tick thread: one whole-tree tick ran (a plain store, 0 B).</summary>
    public void CountTick() => Volatile.Write(ref _ticks, _ticks + 1);

    /// <summary>Drain: the duration of the runtime's last shutdown drain, exported as <c>fsm2_shutdown_duration_seconds</c>.</summary>
    public void SetShutdownDuration(TimeSpan elapsed) => Volatile.Write(ref _shutdownSecondsBits, BitConverter.DoubleToInt64Bits(elapsed.TotalSeconds));

    /// <summary>Runtime constructor: the clock of <c>fsm2_state_seconds</c> and <c>fsm2_observation_age_seconds</c>.</summary>
    public void AttachClock(TimeProvider time) => Volatile.Write(ref _time, time);

    /// <summary><c>fsm2_reconcile_duration_seconds</c>: one node's reconcile, on ticks where it ran (never in a quiescent tick).</summary>
    public Histogram<double> ReconcileDuration { get; private set; } = null!; // set in the constructor.

    private void CreateMonitoringInstruments()
    {
        ReconcileDuration = _meter.CreateHistogram<double>("fsm2_reconcile_duration_seconds", "s", "Reconcile of one node, on ticks where it ran.");
        _meter.CreateObservableGauge("fsm2_nodes", ObserveNodes, description: "Live nodes by worker type, removing ones included.");
        _meter.CreateObservableGauge("fsm2_hierarchy_depth", ObserveDepth, description: "Depth of the deepest node (a top-level node has depth 1; 0 without nodes).");
        _meter.CreateObservableGauge("fsm2_children", ObserveChildren, description: "Active children of a node.");
        _meter.CreateObservableGauge("fsm2_state_seconds", ObserveStateSeconds, "s", "Time the node's worker has been in its current state.");
        _meter.CreateObservableGauge("fsm2_observation_age_seconds", ObserveObservationAge, "s", "Age of the node's newest observation the tick read.");
        _meter.CreateObservableGauge("fsm2_shutdown_duration_seconds", ObserveShutdownDuration, "s", "Duration of the last shutdown drain (reported by the final export).");
        ProcessInstruments.EnsureCreated();
    }

    private RuntimeStatus? CurrentStatus() => Volatile.Read(ref _statusSource)?.Invoke();

    private IEnumerable<Measurement<int>> ObserveNodes()
    {
        RuntimeStatus? status = CurrentStatus();
        if (status is null)
        {
            yield break;
        }

        var byType = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (NodeStatus node in status.Nodes)
        {
            byType[node.WorkerType] = byType.TryGetValue(node.WorkerType, out int count) ? count + 1 : 1;
        }

        foreach (KeyValuePair<string, int> pair in byType)
        {
            yield return new Measurement<int>(pair.Value, new KeyValuePair<string, object?>("worker_type", pair.Key));
        }
    }

    private int ObserveDepth()
    {
        RuntimeStatus? status = CurrentStatus();
        int deepest = 0;
        if (status is null)
        {
            return deepest;
        }

        foreach (NodeStatus node in status.Nodes)
        {
            deepest = Math.Max(deepest, node.Path.AsSpan().Count('/') + 1);
        }

        return deepest;
    }

    private IEnumerable<Measurement<int>> ObserveChildren()
    {
        RuntimeStatus? status = CurrentStatus();
        if (status is null)
        {
            yield break;
        }

        foreach (NodeStatus node in status.Nodes)
        {
            yield return new Measurement<int>(node.Children.Count, new KeyValuePair<string, object?>("node", node.Path));
        }
    }

    private IEnumerable<Measurement<double>> ObserveStateSeconds()
    {
        RuntimeStatus? status = CurrentStatus();
        TimeProvider? time = Volatile.Read(ref _time);
        if (status is null || time is null)
        {
            yield break;
        }

        DateTimeOffset now = time.GetUtcNow();
        foreach (NodeStatus node in status.Nodes)
        {
            yield return new Measurement<double>(
                Math.Max(0, (now - node.StateSince).TotalSeconds),
                new KeyValuePair<string, object?>("node", node.Path),
                new KeyValuePair<string, object?>("state", node.State));
        }
    }

    private IEnumerable<Measurement<double>> ObserveObservationAge()
    {
        RuntimeStatus? status = CurrentStatus();
        TimeProvider? time = Volatile.Read(ref _time);
        if (status is null || time is null)
        {
            yield break;
        }

        DateTimeOffset now = time.GetUtcNow();
        foreach (NodeStatus node in status.Nodes)
        {
            if (node.Ticks?.ObservedAt is DateTimeOffset observedAt)
            {
                yield return new Measurement<double>(Math.Max(0, (now - observedAt).TotalSeconds), new KeyValuePair<string, object?>("node", node.Path));
            }
        }
    }

    // No series before the first drain: a 0 would read as "drained instantly".
    private IEnumerable<Measurement<double>> ObserveShutdownDuration()
    {
        double seconds = BitConverter.Int64BitsToDouble(Volatile.Read(ref _shutdownSecondsBits));
        if (!double.IsNaN(seconds))
        {
            yield return new Measurement<double>(seconds);
        }
    }

    /// <summary>
    /// The <c>fsm2_process_*</c> instruments. They describe the process, not a runtime, so they live on one process-wide
    /// <c>Fsm2.Edge</c> meter created on first use: several runtimes in one process (tests, tools) export one series each
    /// instead of summing duplicates.
    /// </summary>
    private static class ProcessInstruments
    {
        private static readonly Meter s_meter = Create();

        public static void EnsureCreated() => GC.KeepAlive(s_meter);

        private static Meter Create()
        {
            var meter = new Meter(MeterName);
            meter.CreateObservableCounter("fsm2_process_allocated_bytes_total", static () => GC.GetTotalAllocatedBytes(), "By", "Bytes allocated by the process (GC.GetTotalAllocatedBytes).");
            meter.CreateObservableCounter("fsm2_process_gc_collections_total", ObserveCollections, description: "Garbage collections by generation.");
            meter.CreateObservableGauge("fsm2_process_working_set_bytes", static () => Environment.WorkingSet, "By", "Physical memory mapped to the process.");
            meter.CreateObservableCounter("fsm2_process_cpu_seconds_total", static () => Environment.CpuUsage.TotalTime.TotalSeconds, "s", "CPU time used by the process (user + kernel).");
            return meter;
        }

        private static readonly string[] s_generations = CreateGenerationTags();

        private static string[] CreateGenerationTags()
        {
            string[] tags = new string[GC.MaxGeneration + 1];
            for (int i = 0; i < tags.Length; i++)
            {
                tags[i] = i.ToString(CultureInfo.InvariantCulture);
            }

            return tags;
        }

        private static IEnumerable<Measurement<long>> ObserveCollections()
        {
            for (int generation = 0; generation < s_generations.Length; generation++)
            {
                yield return new Measurement<long>(GC.CollectionCount(generation), new KeyValuePair<string, object?>("generation", s_generations[generation]));
            }
        }
    }
}
