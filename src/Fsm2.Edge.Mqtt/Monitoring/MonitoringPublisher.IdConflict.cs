using System.Buffers;
using System.Text.Json;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Observability;

namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>
/// Runtime id conflict detection (shared/spec/50-runtime-monitoring.md §12): two processes running with the same
/// <c>runtime.id</c> on one broker share the client ids and the prefix, so they take over each other's sessions and
/// overwrite each other's statuses.
/// </summary>
/// <remarks>
/// <para>From <see cref="Start"/> on, <c>mon</c> has a route on its own <c>{prefix}/runtime/state</c>. Two pieces of
/// evidence log <c>runtime_id_conflict</c> (Error, fields <c>runtime</c>, <c>other_instance</c>):</para>
/// <list type="bullet">
/// <item>a runtime state message (heartbeat, <c>starting</c>, <c>stopping</c> or a dated <c>offline</c>) whose
/// <c>instance</c> is not this process's and whose <c>ts</c> is later than this publisher's start. A retained heartbeat
/// of the previous run (dated before the start) and a last will (undated) are not evidence. Logged once per other
/// instance id;</item>
/// <item>an undated message (a last will) of the same other instance arriving a second time after this process published
/// its own runtime state in between. A broker that publishes the will of a session it hands over (mosquitto does, and
/// reports the takeover to the MQTT 5 client as a normal disconnection) overwrites every heartbeat of the other process
/// before this one can read it, so its will is the evidence left. A predecessor that crashed leaves one will, which
/// arrives once (at most twice: retained at subscribe, then live if it fires after this start) and is not evidence;
/// logged once per other instance id;</item>
/// <item><c>mon</c> disconnected with the MQTT 5 reason "session taken over" (<c>other_instance</c> is then
/// <c>unknown</c>). Logged at most once per <see cref="TakeoverLogInterval"/>, since each takeover repeats on every
/// reconnect while both processes run.</item>
/// </list>
/// <para>The runtime keeps running and never reconnects faster because of a conflict: the MQTT layer reconnects on its
/// normal backoff, so two conflicting runtimes fight no faster than that.</para>
/// </remarks>
public sealed partial class MonitoringPublisher
{
    /// <summary>The minimum time between two <c>runtime_id_conflict</c> events caused by session takeovers (60 s; the
    /// Go original's unthrottled repeats were the lesson of 50 §9.1).</summary>
    public static readonly TimeSpan TakeoverLogInterval = TimeSpan.FromSeconds(60);

    private readonly Lock _conflictLock = new();

    // Guarded by _conflictLock: other instance ids already reported, and when a takeover was last reported.
    private readonly HashSet<string> _conflictingInstances = new(StringComparer.Ordinal);
    private long _lastTakeoverLog = long.MinValue;
    private long _conflicts;

    // Guarded by _conflictLock: per other instance, the count of own runtime state publications when its undated message
    // (will) was last seen.
    private readonly Dictionary<string, long> _undatedSeen = new(StringComparer.Ordinal);

    // Own runtime state messages published (heartbeats, markers); any thread reads.
    private long _ownStatePublications;

    private IMqttRoute? _stateWatch;

    /// <summary>How often <c>runtime_id_conflict</c> was logged.</summary>
    public long RuntimeIdConflicts => Interlocked.Read(ref _conflicts);

    // Start: the route on the own runtime state topic (survives reconnects).
    private void WatchOwnRuntimeState() =>
        _stateWatch = _mqtt.Route(_runtimeStateTopic, EdgeQos.AtLeastOnce, new RuntimeStateWatch(this));

    private void StopWatchingOwnRuntimeState() => Interlocked.Exchange(ref _stateWatch, null)?.Dispose();

    // Connection changes (client thread): a session taken over by another client with the same id.
    private void CheckTakeover(MqttLinkState state)
    {
        if (state.IsConnected || !IsSessionTakenOver(state.Reason))
        {
            return;
        }

        long now = _time.GetTimestamp();
        lock (_conflictLock)
        {
            if (_lastTakeoverLog != long.MinValue && now - _lastTakeoverLog < ToStamp(TakeoverLogInterval))
            {
                return;
            }

            _lastTakeoverLog = now;
        }

        ReportConflict("unknown", "session_taken_over");
    }

    // "session taken over" in any spelling: MQTTnet's SessionTakenOver, SESSION_TAKEN_OVER, the spec's words.
    internal static bool IsSessionTakenOver(string? reason)
    {
        if (string.IsNullOrEmpty(reason))
        {
            return false;
        }

        Span<char> letters = stackalloc char[Math.Min(reason.Length, 64)];
        int n = 0;
        foreach (char c in reason)
        {
            if (char.IsLetter(c) && n < letters.Length)
            {
                letters[n++] = char.ToLowerInvariant(c);
            }
        }

        return letters[..n].SequenceEqual("sessiontakenover");
    }

    // Receive path: a message on the own runtime state topic.
    private void OnOwnRuntimeState(in EdgeMqttMessage message)
    {
        if (message.Payload.IsEmpty || message.Payload.Length > 64 * 1024 || !TryReadInstanceAndTs(message.Payload, out string? instance, out DateTimeOffset? ts))
        {
            return;
        }

        if (instance is null || string.Equals(instance, _instance, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        if (ts is DateTimeOffset at)
        {
            if (at <= _startedAt)
            {
                return; // the previous run's heartbeat
            }

            lock (_conflictLock)
            {
                if (!_conflictingInstances.Add(instance))
                {
                    return;
                }
            }

            ReportConflict(instance, "heartbeat");
            return;
        }

        long own = Interlocked.Read(ref _ownStatePublications);
        lock (_conflictLock)
        {
            if (own == 0 || _conflictingInstances.Contains(instance))
            {
                return; // nothing of ours on the topic yet (a predecessor's leftover), or already reported
            }

            if (!_undatedSeen.TryGetValue(instance, out long previous) || previous == own)
            {
                if (_undatedSeen.Count >= 64)
                {
                    _undatedSeen.Clear(); // bounded: ids of dead predecessors are not kept forever
                }

                _undatedSeen[instance] = own;
                return;
            }

            _conflictingInstances.Add(instance);
        }

        ReportConflict(instance, "repeated_will");
    }

    private void ReportConflict(string otherInstance, string evidence)
    {
        Interlocked.Increment(ref _conflicts);
        Log.RuntimeIdConflict(_logger, _options.RuntimeId, otherInstance, evidence);
    }

    // The top-level "instance" and "ts" of a runtime state payload; false when it is not a JSON object.
    private static bool TryReadInstanceAndTs(ReadOnlySequence<byte> payload, out string? instance, out DateTimeOffset? ts)
    {
        instance = null;
        ts = null;
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isInstance = reader.ValueTextEquals("instance"u8);
                bool isTs = !isInstance && reader.ValueTextEquals("ts"u8);
                if (!reader.Read())
                {
                    return false;
                }

                if (isInstance && reader.TokenType == JsonTokenType.String)
                {
                    instance = reader.GetString();
                }
                else if (isTs && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out DateTimeOffset at))
                {
                    ts = at;
                }
                else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The route handler on the own runtime state topic.</summary>
    private sealed class RuntimeStateWatch(MonitoringPublisher publisher) : IEdgeMessageHandler
    {
        public void OnMessage(in EdgeMqttMessage message) => publisher.OnOwnRuntimeState(in message);
    }
}
