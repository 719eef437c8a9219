using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.Connection;

/// <summary>The rendered config of a <c>connection</c> (50-runtime-monitoring §7.3).</summary>
internal sealed record ConnectionConfig(string Host, int Port, TimeSpan Timeout, int FailureThreshold)
{
    /// <exception cref="FormatException">A field is missing or invalid; the message names it.</exception>
    public static ConnectionConfig Parse(string yaml)
    {
        ConfigFields f = ConfigFields.Parse(yaml, WorkerPack.ConnectionType, "host", "port", "timeout", "failure_threshold");
        return new ConnectionConfig(
            f.String("host", required: true)!,
            (int)f.RequiredInteger("port", 1, 65535),
            f.Duration("timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10)),
            (int)f.Integer("failure_threshold", 3, 1, 1000));
    }
}

/// <summary>What a <c>connection</c> observes (50-runtime-monitoring §7.3).</summary>
/// <param name="Probing">Whether the collector probes (desired active, no shutdown).</param>
/// <param name="Reachable">The latest probe's verdict; null when not probing.</param>
/// <param name="RttMs">Connect time of the latest successful probe.</param>
/// <param name="ConsecutiveFailures">Failed probes since the latest success.</param>
/// <param name="LastError">The latest failure, e.g. <c>connection refused</c>.</param>
/// <param name="LastSuccessAt">When a probe last succeeded.</param>
internal sealed record ConnectionObserved(
    bool Probing,
    bool? Reachable,
    double? RttMs,
    int ConsecutiveFailures,
    string? LastError,
    DateTimeOffset? LastSuccessAt)
{
    public static readonly ConnectionObserved Idle = new(false, null, null, 0, null, null);
}
