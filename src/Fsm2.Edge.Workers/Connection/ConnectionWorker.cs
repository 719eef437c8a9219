using System.Text.Json;
using System.Net.Sockets;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.Connection;

/// <summary>
/// The <c>connection</c> worker (50-runtime-monitoring §7.3): TCP reachability of <c>host:port</c>. While desired is
/// <c>active</c> and no shutdown is requested, each collection opens one real TCP connection with <c>timeout</c> and
/// closes it; otherwise it does not probe. An unreachable device is a business state (<c>degraded</c>), never an
/// infrastructure failure, so it opens no breaker.
/// </summary>
internal sealed class ConnectionWorker : IWorker<ConnectionObserved, ConnectionConfig>, IWorkerStatusWriter<ConnectionObserved>
{
    private const string OneFailure = "1 failed probe";

    private readonly Identity _identity;
    private readonly WorkerPackOptions _options;

    // Owner: the collector (collections of one worker never overlap).
    private int _consecutiveFailures;
    private DateTimeOffset? _lastSuccessAt;
    private string? _lastError;

    public ConnectionWorker(Identity identity, WorkerPackOptions options)
    {
        _identity = identity;
        _options = options;
    }

    public async ValueTask<ConnectionObserved> CollectObservedStateAsync(DesiredState<ConnectionConfig> desired, CancellationToken cancellationToken)
    {
        if (desired.State != PackStates.Active || desired.ShutdownRequested)
        {
            _consecutiveFailures = 0;
            _options.Metrics.SetConnectionUp(_identity.Id, up: false);
            return ConnectionObserved.Idle;
        }

        ConnectionConfig config = desired.Config;
        TimeProvider time = _options.Time;
        long started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(config.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(config.Host, config.Port, linked.Token).ConfigureAwait(false);
            double rtt = time.GetElapsedTime(started).TotalMilliseconds;
            _consecutiveFailures = 0;
            _lastError = null;
            _lastSuccessAt = time.GetUtcNow();
            _options.Metrics.SetConnectionUp(_identity.Id, up: true);
            return new ConnectionObserved(true, true, rtt, 0, null, _lastSuccessAt);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            _lastError = $"timeout after {(long)config.Timeout.TotalMilliseconds} ms";
        }
        catch (SocketException ex)
        {
            _lastError = Describe(ex.SocketErrorCode, ex.Message);
        }

        _consecutiveFailures++;
        _options.Metrics.SetConnectionUp(_identity.Id, up: false);
        return new ConnectionObserved(true, false, null, _consecutiveFailures, _lastError, _lastSuccessAt);
    }

    public DerivedState<ConnectionConfig> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new DerivedState<ConnectionConfig>(PackStates.Active, ConnectionConfig.Parse(spec.Config));
    }

    public IState<ConnectionObserved, ConnectionConfig> GetInitialState() => Stopped.Instance;

    /// <summary>The <c>observed</c> status object (50-runtime-monitoring §7.3): <c>probing</c>, <c>reachable</c> (null when
    /// not probing), <c>rttMs</c>, <c>consecutiveFailures</c>, <c>lastError</c>, <c>lastSuccessAt</c>.</summary>
    public void WriteStatus(Utf8JsonWriter writer, ConnectionObserved observed, ChildrenView children)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(observed);
        writer.WriteBoolean("probing", observed.Probing);
        if (observed.Reachable is bool reachable)
        {
            writer.WriteBoolean("reachable", reachable);
        }
        else
        {
            writer.WriteNull("reachable");
        }

        if (observed.RttMs is double rtt)
        {
            writer.WriteNumber("rttMs", Math.Round(rtt, 3));
        }
        else
        {
            writer.WriteNull("rttMs");
        }

        writer.WriteNumber("consecutiveFailures", observed.ConsecutiveFailures);
        StatusJson.WriteString(writer, "lastError", observed.LastError);
        StatusJson.WriteTime(writer, "lastSuccessAt", observed.LastSuccessAt);
    }

    private static string Describe(SocketError error, string message) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData => "host not found",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.TimedOut => "timed out",
        _ => message,
    };

    private static bool StopRequested(in Snapshot<ConnectionObserved, ConnectionConfig> s)
        => s.ShutdownRequested || s.Desired.State != PackStates.Active;

    private static bool FailedEnough(in Snapshot<ConnectionObserved, ConnectionConfig> s)
        => s.Observed.Probing && s.Observed.ConsecutiveFailures >= s.Desired.Config.FailureThreshold;

    private sealed class Stopped : IState<ConnectionObserved, ConnectionConfig>
    {
        public static readonly Stopped Instance = new();

        public string Name => PackStates.Stopped;

        public Transition<ConnectionObserved, ConnectionConfig> Next(in Snapshot<ConnectionObserved, ConnectionConfig> snapshot)
        {
            if (snapshot.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shutdown");
            }

            return snapshot.Desired.State == PackStates.Active
                ? Transition.To<ConnectionObserved, ConnectionConfig>(Probing.Instance, "desired active")
                : Transition.To(this);
        }
    }

    private sealed class Probing : IState<ConnectionObserved, ConnectionConfig>
    {
        public static readonly Probing Instance = new();

        public string Name => "probing";

        public Transition<ConnectionObserved, ConnectionConfig> Next(in Snapshot<ConnectionObserved, ConnectionConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<ConnectionObserved, ConnectionConfig>(Stopped.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            if (snapshot.Observed.Probing && snapshot.Observed.Reachable == true)
            {
                return Transition.To<ConnectionObserved, ConnectionConfig>(Active.Instance, "reachable");
            }

            return FailedEnough(snapshot)
                ? Transition.To<ConnectionObserved, ConnectionConfig>(Degraded.Instance, snapshot.Observed.LastError)
                : Transition.To(this);
        }
    }

    private sealed class Active : IState<ConnectionObserved, ConnectionConfig>
    {
        public static readonly Active Instance = new();

        public string Name => PackStates.Active;

        public Transition<ConnectionObserved, ConnectionConfig> Next(in Snapshot<ConnectionObserved, ConnectionConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<ConnectionObserved, ConnectionConfig>(Stopped.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            if (FailedEnough(snapshot))
            {
                return Transition.To<ConnectionObserved, ConnectionConfig>(Degraded.Instance, snapshot.Observed.LastError);
            }

            // Below the threshold a failure keeps the connection active; the reason says so.
            return Transition.To(this, snapshot.Observed.ConsecutiveFailures == 1 ? OneFailure : null);
        }
    }

    private sealed class Degraded : IState<ConnectionObserved, ConnectionConfig>
    {
        public static readonly Degraded Instance = new();

        public string Name => PackStates.Degraded;

        public Transition<ConnectionObserved, ConnectionConfig> Next(in Snapshot<ConnectionObserved, ConnectionConfig> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<ConnectionObserved, ConnectionConfig>(Stopped.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            return snapshot.Observed.Probing && snapshot.Observed.Reachable == true
                ? Transition.To<ConnectionObserved, ConnectionConfig>(Active.Instance, "reachable")
                : Transition.To(this, snapshot.Observed.LastError);
        }
    }
}
