using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Observability;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fsm2.Edge.Mqtt.Globals;

/// <summary>
/// Fleet Global variables (shared/spec/50-runtime-monitoring.md §6.6, §12): subscribes the <c>mon</c> client to the
/// retained <c>fleet.global_topic</c> and hands every payload to the runtime's
/// <see cref="SupervisorRuntime.ApplyFleetPayload"/>.
/// </summary>
/// <remarks>
/// <para><b>Validation.</b> The runtime (<see cref="SupervisorRuntime.ApplyFleetPayload"/>) parses and validates the
/// payload (identifier keys <c>^[A-Za-z_][A-Za-z0-9_]*$</c>, depth ≤ 8, ≤ 64 KiB, <c>variables</c> required). An invalid
/// payload is rejected as a whole (<c>global_update_rejected</c>, Error,
/// <c>fsm2_global_updates_total{source=mqtt,result=rejected}</c>) and the previous effective Global stays; a change of
/// the effective Global counts <c>result=applied</c>. A zero-length retained message clears the fleet layer (file values
/// only).</para>
/// <para><b>Heartbeat.</b> With a <see cref="MonitoringPublisher"/>, every accepted payload sets the heartbeat's
/// <c>global</c> object: <c>{"source":"mqtt","version":N}</c>, or <c>{"source":"file"}</c> after a clear. A rejected
/// payload leaves it as it was, because the effective Global did not change.</para>
/// <para><b>Startup.</b> <see cref="WaitForFirstAsync"/> waits (startup step 5, §2.4) until the broker delivered the
/// retained value or the wait ends; an empty topic delivers nothing, so the whole wait then passes. Either way the
/// runtime starts: the config <c>global:</c> values are the fallback.</para>
/// <para><b>Shutdown.</b> After <see cref="Stop"/> payloads are ignored (shutdown step 1, §10) and the route is
/// released.</para>
/// <para><b>Threads.</b> Messages arrive on the MQTT receive path; the runtime takes the parsed layer on its next tick.
/// The subscription survives reconnects (the client restores routes), and the broker re-delivers the retained value
/// after each one, which re-applies it (structurally equal values do not re-derive any node).</para>
/// </remarks>
[DebuggerDisplay("FleetGlobals {Topic}, received = {MessagesReceived}")]
public sealed class FleetGlobals : IEdgeMessageHandler, IDisposable
{
    private readonly SupervisorRuntime _runtime;
    private readonly IEdgeMqtt _mqtt;
    private readonly MonitoringPublisher? _publisher;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IMqttRoute? _route;
    private long _received;
    private long _rejected;
    private int _stopped;

    /// <summary>Creates the subscription; <see cref="Start"/> subscribes.</summary>
    /// <param name="runtime">The runtime whose fleet layer the payloads replace.</param>
    /// <param name="mqtt">The <c>mon</c> client.</param>
    /// <param name="topic">The fleet topic (<c>fleet.global_topic</c>, default <c>fsm2/fleet/{fleet.name}/global</c>).</param>
    /// <param name="publisher">The heartbeat to update with the Global source and version; none when null.</param>
    /// <param name="loggerFactory">The log sink (category <c>Fsm2.Edge.Mqtt</c>); none when null.</param>
    /// <exception cref="ArgumentException">The topic is not a valid topic name (wildcards are not allowed).</exception>
    public FleetGlobals(SupervisorRuntime runtime, IEdgeMqtt mqtt, string topic, MonitoringPublisher? publisher = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(mqtt);
        if (!MqttTopics.IsValidTopic(topic))
        {
            throw new ArgumentException($"fleet.global_topic '{topic}' must be a topic name without wildcards", nameof(topic));
        }

        _runtime = runtime;
        _mqtt = mqtt;
        Topic = topic;
        _publisher = publisher;
        _logger = loggerFactory?.CreateLogger("Fsm2.Edge.Mqtt") ?? NullLogger.Instance;
    }

    /// <summary>The fleet topic.</summary>
    public string Topic { get; }

    /// <summary>Payloads received so far (accepted or rejected).</summary>
    public long MessagesReceived => Interlocked.Read(ref _received);

    /// <summary>Payloads the runtime rejected so far.</summary>
    public long MessagesRejected => Interlocked.Read(ref _rejected);

    /// <summary>Completes when the first payload (normally the retained one) was handled.</summary>
    public Task FirstReceived => _first.Task;

    /// <summary>Subscribes (QoS 1). Calling it again does nothing.</summary>
    /// <param name="wait">The startup wait to report in <c>fleet_global_subscribed</c>.</param>
    public void Start(TimeSpan wait = default)
    {
        if (_route is not null || Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        _route = _mqtt.Route(Topic, EdgeQos.AtLeastOnce, this);
        Log.FleetGlobalSubscribed(_logger, Topic, wait.TotalMilliseconds);
    }

    /// <summary>
    /// Waits until the first payload was handled or <paramref name="timeout"/> passed (startup step 5); never throws
    /// on the timeout.
    /// </summary>
    /// <param name="timeout">The longest wait (<c>fleet.wait_for_global</c>, default 5 s).</param>
    /// <param name="timeProvider">The clock of the wait.</param>
    /// <param name="cancellationToken">Ends the wait early (for example a signal during startup).</param>
    /// <returns><see langword="true"/> when a payload arrived within the wait.</returns>
    public async Task<bool> WaitForFirstAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        long started = timeProvider.GetTimestamp();
        bool received = true;
        try
        {
            await _first.Task.WaitAsync(timeout, timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            received = false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            received = false;
        }

        Log.FleetGlobalWaitEnded(_logger, Topic, received, timeProvider.GetElapsedTime(started).TotalMilliseconds);
        return received;
    }

    /// <summary>Ignores further payloads and releases the subscription (shutdown step 1).</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            Interlocked.Exchange(ref _route, null)?.Dispose();
        }
    }

    /// <summary>Same as <see cref="Stop"/>.</summary>
    public void Dispose() => Stop();

    /// <inheritdoc/>
    void IEdgeMessageHandler.OnMessage(in EdgeMqttMessage message)
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            Log.FleetGlobalIgnored(_logger, Topic);
            return;
        }

        Interlocked.Increment(ref _received);

        // The payload is only valid during this call; a fleet payload is small (≤ 64 KiB), so copy it unless it already
        // is one contiguous segment. Oversized payloads are passed as-is for the runtime to reject with the size.
        ReadOnlySequence<byte> payload = message.Payload;
        ReadOnlySpan<byte> bytes = payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray();
        // The runtime validates (identifier keys, depth, size, JSON), logs global_update_rejected and counts
        // fsm2_global_updates_total{source=mqtt,result=rejected}; an applied change is counted on the tick that takes it.
        bool accepted = _runtime.ApplyFleetPayload(bytes);

        string version = "";
        if (accepted)
        {
            version = bytes.IsEmpty ? "" : ReadVersion(bytes);
            _publisher?.SetGlobalInfo(bytes.IsEmpty ? "file" : "mqtt", version);
        }
        else
        {
            Interlocked.Increment(ref _rejected);
        }

        Log.FleetGlobalReceived(_logger, Topic, payload.Length, accepted, version);
        _first.TrySetResult();
    }

    // The informative top-level "version" of an accepted payload (GlobalVariables.ParseFleetPayload already checked
    // that the payload is a JSON object); "" when absent.
    private static string ReadVersion(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return "";
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isVersion = reader.ValueTextEquals("version"u8);
            if (!reader.Read())
            {
                return "";
            }

            if (isVersion)
            {
                return reader.TokenType switch
                {
                    JsonTokenType.String => reader.GetString() ?? "",
                    JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
                    _ => "",
                };
            }

            reader.Skip();
        }

        return "";
    }
}
