using System.Buffers;
using System.Buffers.Binary;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Observability;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace Fsm2.Edge.Mqtt.Probes;

/// <summary>One probe run: connect if needed, subscribe if needed, publish, wait for the echo.</summary>
public sealed partial class MqttRoundTripProbe
{
    // Tag values are cached strings, indexed by ProbeOutcome, so recording a result allocates no string.
    private static readonly string[] s_outcomeNames = ["success", "miss", "disconnected", "refused"];

    /// <summary>Runs one round trip. Never throws: every failure maps to an outcome.</summary>
    /// <param name="cancellationToken">Stops the run early (the scheduler's budget or shutdown); the run then reports
    /// <see cref="ProbeOutcome.Miss"/>, or <see cref="ProbeOutcome.Disconnected"/> when it had no connection.</param>
    /// <returns>The outcome of this run.</returns>
    public async ValueTask<ProbeOutcome> RunAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return Finish(ProbeOutcome.Disconnected, seq: 0, rtt: null);
        }

        try
        {
            if (!_client.IsConnected)
            {
                ProbeOutcome? failed = await ConnectAsync(cancellationToken).ConfigureAwait(false);
                if (failed is ProbeOutcome outcome)
                {
                    return Finish(outcome, seq: 0, rtt: null);
                }
            }

            if (!_subscribed)
            {
                ProbeOutcome? failed = await SubscribeAsync(cancellationToken).ConfigureAwait(false);
                if (failed is ProbeOutcome outcome)
                {
                    return Finish(outcome, seq: 0, rtt: null);
                }
            }

            return await RoundTripAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MqttCommunicationException or ObjectDisposedException)
        {
            // A failure outside the round trip (the client was disposed under the run, or a connection-level error the
            // steps above did not map): the connection state decides.
            return Finish(_client.IsConnected ? ProbeOutcome.Miss : ProbeOutcome.Disconnected, seq: 0, rtt: null);
        }
    }

    // One connect attempt, bounded by 2 × Timeout. Returns the failure outcome, or null when connected.
    private async ValueTask<ProbeOutcome?> ConnectAsync(CancellationToken cancellationToken)
    {
        _subscribed = false;
        Interlocked.Increment(ref _connectAttempts);
        using var deadline = new CancellationTokenSource(2 * Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        MqttClientConnectResult result;
        try
        {
            // The previous connection's teardown must be over before MQTTnet accepts a connect; it normally is.
            await Volatile.Read(ref _connectionClosed).Task.WaitAsync(linked.Token).ConfigureAwait(false);
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _connectionClosed, closed);
            result = await _client.ConnectAsync(_clientOptions, linked.Token).ConfigureAwait(false);
            if (!_client.IsConnected)
            {
                // No connection came up, so no DisconnectedAsync will follow for it.
                closed.TrySetResult();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or MqttCommunicationException or IOException
            or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            // InvalidOperationException: MQTTnet refuses a connect while a connection is still being torn down (the wait
            // above covers the usual case); the next run tries again.
            Log.MqttConnectFailed(_logger, ClientId, _endpointText, ex.GetBaseException().Message);
            if (!_client.IsConnected)
            {
                // A failed connect ends in MQTTnet's teardown too, but it may not raise DisconnectedAsync for a
                // connection that never came up; never let the next run wait for an event that will not come.
                _ = Volatile.Read(ref _connectionClosed).TrySetResult();
            }

            return ProbeOutcome.Disconnected;
        }

        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            Log.MqttConnectFailed(_logger, ClientId, _endpointText, result.ResultCode.ToString());
            return result.ResultCode is MqttClientConnectResultCode.NotAuthorized or MqttClientConnectResultCode.BadUserNameOrPassword
                or MqttClientConnectResultCode.Banned
                ? ProbeOutcome.Refused
                : ProbeOutcome.Disconnected;
        }

        Log.MqttConnected(_logger, ClientId, _endpointText);
        return null;
    }

    // Subscribes the echo filter at QoS 1. Returns the failure outcome, or null when subscribed.
    private async ValueTask<ProbeOutcome?> SubscribeAsync(CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        MqttClientSubscribeOptions options = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(SubscriptionFilter, MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        MqttClientSubscribeResult result;
        try
        {
            result = await _client.SubscribeAsync(options, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MqttCommunicationException)
        {
            return _client.IsConnected ? ProbeOutcome.Miss : ProbeOutcome.Disconnected;
        }

        foreach (MqttClientSubscribeResultItem item in result.Items)
        {
            if (item.ResultCode is not (MqttClientSubscribeResultCode.GrantedQoS0 or MqttClientSubscribeResultCode.GrantedQoS1
                or MqttClientSubscribeResultCode.GrantedQoS2))
            {
                Log.ProbeRefused(_logger, Id, "subscribe", item.ResultCode.ToString());
                return ProbeOutcome.Refused;
            }
        }

        _subscribed = true;
        return null;
    }

    private async ValueTask<ProbeOutcome> RoundTripAsync(CancellationToken cancellationToken)
    {
        long seq = Interlocked.Increment(ref _sequence);
        var pending = new PendingEcho(seq, TopicFor(seq));
        byte[] payload = new byte[PayloadLength];
        _instance.CopyTo(payload, 0);
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(16), seq);
        MqttApplicationMessageBuilder message = new MqttApplicationMessageBuilder()
            .WithTopic(pending.Topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(false);
        if (_connection.Protocol == MqttProtocol.V5)
        {
            message = message.WithMessageExpiryInterval(MessageExpirySeconds);
        }

        // The deadline exists before the publish starts, so Timeout is measured from the start of the publish.
        using var deadline = new CancellationTokenSource(Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        Volatile.Write(ref _pending, pending);
        long start = _time.GetTimestamp();
        try
        {
            MqttClientPublishResult published = await _client.PublishAsync(message.Build(), linked.Token).ConfigureAwait(false);
            if (published.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
            {
                Log.ProbeRefused(_logger, Id, "publish", published.ReasonCode.ToString());
                return Finish(ProbeOutcome.Refused, seq, rtt: null);
            }

            long received = await pending.Received.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            return Finish(ProbeOutcome.Success, seq, _time.GetElapsedTime(start, received));
        }
        catch (Exception ex) when (ex is OperationCanceledException or MqttCommunicationException)
        {
            // No echo in time, or the publish failed. A dropped connection is reported as such, not as a miss: the
            // verdict must turn unhealthy at once, not after MissThreshold runs.
            return Finish(_client.IsConnected ? ProbeOutcome.Miss : ProbeOutcome.Disconnected, seq, rtt: null);
        }
        finally
        {
            // From here on, this run's echo is late.
            _ = Interlocked.CompareExchange(ref _pending, null, pending);
        }
    }

    private ProbeOutcome Finish(ProbeOutcome outcome, long seq, TimeSpan? rtt)
    {
        Volatile.Write(ref _lastOutcome, (int)outcome);
        if (_recordRunMetrics)
        {
            _metrics.ProbeResults.Add(1, _probeTag, new KeyValuePair<string, object?>("outcome", s_outcomeNames[(int)outcome]));
        }

        double rttMs = -1;
        if (rtt is TimeSpan value)
        {
            Interlocked.Exchange(ref _lastRoundTripTicks, value.Ticks);
            if (_recordRunMetrics)
            {
                _metrics.ProbeRtt.Record(value.TotalSeconds, _probeTag);
            }

            rttMs = value.TotalMilliseconds;
        }

        Log.ProbeRun(_logger, Id, seq, s_outcomeNames[(int)outcome], rttMs);
        return outcome;
    }

    // MQTTnet's receive thread. Completes the pending run on an exact match; anything else is counted as late.
    private Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        long now = _time.GetTimestamp();
        MqttApplicationMessage message = e.ApplicationMessage;
        PendingEcho? pending = Volatile.Read(ref _pending);
        string? reason = Mismatch(message, pending);
        if (reason is null)
        {
            // Not null: Mismatch returns null only for a pending echo.
            _ = pending!.Received.TrySetResult(now);
            return Task.CompletedTask;
        }

        Interlocked.Increment(ref _lateEchoes);
        _metrics.ProbeLateEchoes.Add(1, _probeTag);
        Log.ProbeEchoIgnored(_logger, Id, message.Topic, reason);
        return Task.CompletedTask;
    }

    // Null when the message is the echo of the pending run; otherwise why it is not.
    private string? Mismatch(MqttApplicationMessage message, PendingEcho? pending)
    {
        ReadOnlySequence<byte> body = message.Payload;
        if (body.Length != PayloadLength)
        {
            return "payload_length";
        }

        Span<byte> payload = stackalloc byte[PayloadLength];
        body.CopyTo(payload);
        if (!payload[..16].SequenceEqual(_instance))
        {
            return "other_instance";
        }

        long seq = BinaryPrimitives.ReadInt64BigEndian(payload[16..]);
        if (pending is null || seq < pending.Seq)
        {
            return "older_seq";
        }

        if (seq != pending.Seq || !string.Equals(message.Topic, pending.Topic, StringComparison.Ordinal))
        {
            return "topic_mismatch";
        }

        return null;
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (e.ClientWasConnected)
        {
            Log.MqttDisconnected(_logger, ClientId, _endpointText, e.Reason.ToString());
        }

        _ = Volatile.Read(ref _connectionClosed).TrySetResult();
        return Task.CompletedTask;
    }
}
