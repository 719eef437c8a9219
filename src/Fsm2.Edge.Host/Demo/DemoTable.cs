using System.Globalization;
using System.Text;
using Fsm2.Edge.Health;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Host.Demo;

/// <summary>
/// The demo's status table (50-runtime-monitoring §2.3): a header line, one row per node
/// (<c>NODE TYPE STATE MODE OBS AGE MSG/s REASON</c>) in the tree's pre-order, and a footer. Built only from the runtime's
/// published <see cref="RuntimeStatus"/> and two metric readings; pure, so tests render it from made-up inputs.
/// </summary>
/// <remarks>
/// MSG/s is the rate between the two readings: publications for a <c>device-simulator</c>, messages republished for a
/// <c>source-flow</c> or <c>sink-flow</c>, <c>-</c> for types that move no messages. OBS AGE is <c>-</c> for a node no
/// meter reports an observation age for. The footer's <c>msg/s in</c> and <c>out</c> sum every flow's input and output.
/// </remarks>
internal static class DemoTable
{
    /// <summary>The NODE column is at least this wide (§2.3's layout); longer paths widen it.</summary>
    private const int MinNodeWidth = 32;

    /// <summary>Everything the table shows besides the status and the metrics.</summary>
    /// <param name="Broker">The broker endpoint.</param>
    /// <param name="Profile">The hardware profile's name.</param>
    /// <param name="Uptime">Time since the runtime started.</param>
    /// <param name="Ticks">Ticks run so far.</param>
    /// <param name="RingCapacity">The action ring's capacity.</param>
    /// <param name="Interval">Time between <paramref name="Previous"/> and <paramref name="Current"/>.</param>
    /// <param name="Previous">The earlier metric reading (rates are computed against it).</param>
    /// <param name="Current">The latest metric reading.</param>
    public sealed record Frame(string Broker, string Profile, TimeSpan Uptime, long Ticks, int RingCapacity, TimeSpan Interval,
        DemoSample Previous, DemoSample Current);

    /// <summary>Renders the table as lines without escape codes.</summary>
    public static IReadOnlyList<string> Render(RuntimeStatus status, Frame frame)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(frame);
        CultureInfo ci = CultureInfo.InvariantCulture;
        double seconds = Math.Max(frame.Interval.TotalSeconds, 0.001);
        var lines = new List<string>(status.Nodes.Count + 3);

        string p99 = frame.Current.TickP99Seconds is { } tick ? Duration(tick) : "-";
        lines.Add(string.Create(ci,
            $"fsm2-edge demo  broker={frame.Broker}  profile={frame.Profile}  uptime={Uptime(frame.Uptime)}  ticks={frame.Ticks}  tick p99={p99}"));

        int nodeWidth = MinNodeWidth;
        foreach (NodeStatus node in status.Nodes)
        {
            nodeWidth = Math.Max(nodeWidth, node.Path.Length + 1);
        }

        lines.Add(Row(nodeWidth, "NODE", "TYPE", "STATE", "MODE", "OBS AGE", "MSG/s", "REASON"));
        int breakersOpen = 0;
        foreach (NodeStatus node in status.Nodes)
        {
            if (node.Breaker.State == BreakerState.Open)
            {
                breakersOpen++;
            }

            string age = frame.Current.ObservationAgeSeconds.TryGetValue(node.Path, out double ageSeconds)
                ? string.Create(ci, $"{ageSeconds:0.0}s")
                : "-";
            string rate = node.WorkerType switch
            {
                "device-simulator" => Rate(frame.Previous.Simulator, frame.Current.Simulator, node.Path, seconds),
                "source-flow" or "sink-flow" => Rate(frame.Previous.FlowOut, frame.Current.FlowOut, node.Path, seconds),
                _ => "-",
            };
            lines.Add(Row(nodeWidth, node.Path, node.WorkerType, node.State, Mode(node.Mode), age, rate, node.Reason));
        }

        double rateIn = (Sum(frame.Current.FlowIn) - Sum(frame.Previous.FlowIn)) / seconds;
        double rateOut = (Sum(frame.Current.FlowOut) - Sum(frame.Previous.FlowOut)) / seconds;
        lines.Add(string.Create(ci,
            $"actions in flight {frame.Current.ActionsInFlight} | ring {frame.Current.QueueDepth}/{frame.RingCapacity} | breakers open {breakersOpen} | msg/s in {rateIn:0.0} out {rateOut:0.0} | Ctrl+C to stop"));
        return lines;
    }

    /// <summary>The MODE column: <c>full</c>, <c>health</c> (health-only: a breaker is open) or <c>stop</c> (winding down).</summary>
    public static string Mode(NodeMode mode) => mode switch
    {
        NodeMode.Full => "full",
        NodeMode.HealthOnly => "health",
        _ => "stop",
    };

    private static string Row(int nodeWidth, string node, string type, string state, string mode, string age, string rate, string reason)
    {
        var row = new StringBuilder(nodeWidth + 64 + reason.Length);
        row.Append(node.PadRight(nodeWidth)).Append(type.PadRight(20)).Append(state.PadRight(10)).Append(mode.PadRight(7))
            .Append(age.PadRight(9)).Append(rate.PadRight(7)).Append(reason);
        return row.ToString().TrimEnd();
    }

    private static string Rate(IReadOnlyDictionary<string, long> previous, IReadOnlyDictionary<string, long> current, string node, double seconds)
    {
        long now = current.GetValueOrDefault(node);
        long before = previous.GetValueOrDefault(node);
        return string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, now - before) / seconds:0.0}");
    }

    private static long Sum(IReadOnlyDictionary<string, long> values)
    {
        long sum = 0;
        foreach (long value in values.Values)
        {
            sum += value;
        }

        return sum;
    }

    private static string Uptime(TimeSpan uptime) => string.Create(CultureInfo.InvariantCulture,
        $"{(int)uptime.TotalHours:00}:{uptime.Minutes:00}:{uptime.Seconds:00}");

    private static string Duration(double seconds) => seconds < 1e-3
        ? string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e6:0}µs")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e3:0.0}ms");
}
