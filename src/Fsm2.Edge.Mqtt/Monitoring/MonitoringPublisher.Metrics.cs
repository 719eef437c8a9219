using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>The metrics snapshot (§6.4): collect, drop finalized nodes' series, aggregate node labels away, sort, write.</summary>
public sealed partial class MonitoringPublisher
{
    private const string NodeTag = "node";
    private const string TickDurationName = "fsm2_tick_duration_seconds";

    // Owner: the pump. The heartbeat's tick.p99Us: the p99 of the tick duration over the latest metrics interval that had
    // ticks (50 §6.2); null before the first such snapshot.
    private double? _tickP99Us;

    private async ValueTask PublishMetricsAsync(CancellationToken ct)
    {
        List<MetricPoint> points = Snapshot(_runtime.Status);
        foreach (MetricPoint point in points)
        {
            if (point.Name == TickDurationName && point.Tags.Length == 0 && point.Interval is HistogramSummary summary)
            {
                _tickP99Us = summary.P99 * 1_000_000;
            }
        }

        long seq = Interlocked.Read(ref _metricsSeq) + 1;
        _buffer.Clear();
        MonitoringJson.WriteMetrics(_buffer, _options.RuntimeId, _instance, _time.GetUtcNow(), MetricsInterval.TotalSeconds, seq, points);
        if (await TryPublishAsync(_metricsTopic, EdgeQos.AtMostOnce, retain: false, ct).ConfigureAwait(false))
        {
            Interlocked.Exchange(ref _metricsSeq, seq);
        }
    }

    // Series of a finalized node disappear (§8.1); with node_labels off, node-tagged series merge (§6.4). Several meters
    // may carry one instrument name (each MQTT component has its own), so equal name+tags always merge.
    internal List<MetricPoint> Snapshot(RuntimeStatus status)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (NodeStatus node in status.Nodes)
        {
            live.Add(node.Path);
        }

        var merged = new Dictionary<string, MetricPoint>(StringComparer.Ordinal);
        foreach (MetricPoint raw in _metrics.Collect())
        {
            MetricPoint point = raw;
            int nodeIndex = Array.FindIndex(point.Tags, t => t.Key == NodeTag);
            if (nodeIndex >= 0)
            {
                if (!live.Contains(point.Tags[nodeIndex].Value))
                {
                    continue;
                }

                if (!_options.NodeLabels)
                {
                    var tags = new KeyValuePair<string, string>[point.Tags.Length - 1];
                    Array.Copy(point.Tags, 0, tags, 0, nodeIndex);
                    Array.Copy(point.Tags, nodeIndex + 1, tags, nodeIndex, point.Tags.Length - nodeIndex - 1);
                    point = point with { Tags = tags };
                }
            }

            string key = SeriesKey(point);
            merged[key] = merged.TryGetValue(key, out MetricPoint? existing) ? Merge(existing, point) : point;
        }

        var keys = new List<string>(merged.Keys);
        keys.Sort(StringComparer.Ordinal);
        var sorted = new List<MetricPoint>(keys.Count);
        foreach (string key in keys)
        {
            sorted.Add(merged[key]);
        }

        return sorted;
    }

    // Name, then tags in key order: sorting by this key sorts series by name then tags (§6.4). '\u0001' sorts below any
    // printable character, so "a" sorts before "a_b".
    private static string SeriesKey(MetricPoint point)
    {
        var key = new System.Text.StringBuilder(point.Name);
        foreach (KeyValuePair<string, string> tag in point.Tags)
        {
            key.Append('\u0001').Append(tag.Key).Append('=').Append(tag.Value);
        }

        return key.ToString();
    }

    private static MetricPoint Merge(MetricPoint a, MetricPoint b) => a with
    {
        Value = a.Value + b.Value,
        Count = a.Count + b.Count,
        Sum = a.Sum + b.Sum,
        Interval = HistogramSummary.Merge(a.Interval, b.Interval),
    };
}
