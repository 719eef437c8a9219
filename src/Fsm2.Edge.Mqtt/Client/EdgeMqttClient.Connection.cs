using Fsm2.Edge.Mqtt.Observability;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace Fsm2.Edge.Mqtt.Client;

/// <summary>The connection loop: connect, restore routes, wait for the loss, back off, reconnect.</summary>
public sealed partial class EdgeMqttClient
{
    private async Task RunAsync(CancellationToken ct)
    {
        TimeSpan next = _options.ReconnectBase;
        bool wait = false;
        int failures = 0;
        while (!ct.IsCancellationRequested)
        {
            if (wait)
            {
                TimeSpan delay = Jittered(next);
                Log.MqttReconnectScheduled(_logger, Name, _endpointText, delay.TotalMilliseconds, failures + 1);
                Task pause = Task.Delay(delay, _time, ct);

                // Published after the timer exists, so a test that sees it can advance a fake clock past it.
                Interlocked.Exchange(ref _pendingDelayTicks, delay.Ticks);
                try
                {
                    await pause.ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Exchange(ref _pendingDelayTicks, -1);
                }

                next = TimeSpan.FromTicks(Math.Min(next.Ticks * 2, _options.ReconnectMax.Ticks));
            }

            wait = true;
            if (!await TryConnectAsync(ct).ConfigureAwait(false))
            {
                failures++;
                continue;
            }

            failures = 0;
            next = _options.ReconnectBase;
            await OnConnectedAsync(ct).ConfigureAwait(false);
            await Volatile.Read(ref _lost).Task.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    private TimeSpan Jittered(TimeSpan delay)
    {
        double jitter = _options.ReconnectJitter;
        if (jitter == 0)
        {
            return delay;
        }

        // Random.Shared is thread-safe; the loop is the only caller anyway.
        double factor = 1 + (jitter * ((2 * Random.Shared.NextDouble()) - 1));
        return TimeSpan.FromTicks((long)(delay.Ticks * factor));
    }

    // One connect attempt bounded by ConnectTimeout. True when connected.
    private async Task<bool> TryConnectAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref _connectAttempts);
        using var deadline = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        try
        {
            await Volatile.Read(ref _connectionClosed).Task.WaitAsync(linked.Token).ConfigureAwait(false);
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _connectionClosed, closed);
            Volatile.Write(ref _lost, lost);
            MqttClientConnectResult result = await _client.ConnectAsync(_clientOptions, linked.Token).ConfigureAwait(false);
            if (result.ResultCode == MqttClientConnectResultCode.Success && _client.IsConnected)
            {
                return true;
            }

            closed.TrySetResult();
            Log.MqttConnectFailed(_logger, Name, _endpointText, result.ResultCode.ToString());
            return false;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is OperationCanceledException or MqttCommunicationException or IOException
            or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            Log.MqttConnectFailed(_logger, Name, _endpointText, ex.GetBaseException().Message);
            if (!_client.IsConnected)
            {
                // A connection that never came up may not raise DisconnectedAsync: never wait for it.
                _ = Volatile.Read(ref _connectionClosed).TrySetResult();
            }

            return false;
        }
    }

    private async Task OnConnectedAsync(CancellationToken ct)
    {
        // Clean start: the broker knows no subscription of ours. Restore every route's filter before anyone hears that
        // the link is up, so a publisher reacting to StateChanged never races its own subscriptions.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (RouteTable.Route route in _routes.Snapshot)
        {
            if (!route.IsDisposed && seen.Add(route.Filter))
            {
                await SubscribeAsync(route.Filter, _routes.QosOf(route.Filter), ct).ConfigureAwait(false);
            }
        }

        MqttLinkState state;
        lock (_stateLock)
        {
            state = new MqttLinkState(true, _time.GetUtcNow(), _state.Connects + 1, null);
            _state = state;
        }

        if (state.Connects > 1)
        {
            _metrics.MqttReconnects.Add(1, _clientTag);
        }

        Log.MqttConnected(_logger, Name, _endpointText);
        _ = Volatile.Read(ref _connected).TrySetResult();
        RaiseStateChanged(state);
    }

    private async Task SubscribeAsync(string filter, EdgeQos qos, CancellationToken ct)
    {
        using var deadline = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        try
        {
            MqttClientSubscribeOptions options = new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(filter, (MqttQualityOfServiceLevel)qos)
                .Build();
            MqttClientSubscribeResult result = await _client.SubscribeAsync(options, linked.Token).ConfigureAwait(false);
            bool granted = true;
            foreach (MqttClientSubscribeResultItem item in result.Items)
            {
                if (item.ResultCode is not (MqttClientSubscribeResultCode.GrantedQoS0 or MqttClientSubscribeResultCode.GrantedQoS1
                    or MqttClientSubscribeResultCode.GrantedQoS2))
                {
                    granted = false;
                    Log.MqttSubscribeFailed(_logger, Name, filter, item.ResultCode.ToString());
                }
            }

            if (granted)
            {
                _routes.MarkSubscribed(filter);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or MqttCommunicationException or InvalidOperationException
            or ObjectDisposedException)
        {
            // The connection dropped meanwhile: the next connect subscribes again.
            Log.MqttSubscribeFailed(_logger, Name, filter, ex.GetBaseException().Message);
        }
    }

    private void OnRouteDisposed(RouteTable.Route route)
    {
        bool stillUsed = _routes.Remove(route, out _);
        if (!stillUsed && _client.IsConnected && Volatile.Read(ref _disposed) == 0)
        {
            _ = UnsubscribeAsync(route.Filter);
        }
    }

    private async Task UnsubscribeAsync(string filter)
    {
        using var deadline = new CancellationTokenSource(_options.ConnectTimeout, _time);
        try
        {
            MqttClientUnsubscribeOptions options = new MqttClientUnsubscribeOptionsBuilder().WithTopicFilter(filter).Build();
            await _client.UnsubscribeAsync(options, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MqttCommunicationException or InvalidOperationException
            or ObjectDisposedException)
        {
            // The route is gone locally, which is what matters: a message still arriving for the filter matches no route,
            // and the clean session drops the subscription at the next connect.
        }
    }

    private Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        MqttApplicationMessage message = e.ApplicationMessage;
        EdgeQos qos = message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce ? EdgeQos.AtMostOnce : EdgeQos.AtLeastOnce;
        _routes.Dispatch(message.Topic, message.Payload, qos, message.Retain);
        return Task.CompletedTask;
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (e.ClientWasConnected)
        {
            string reason = e.Reason.ToString();
            Log.MqttDisconnected(_logger, Name, _endpointText, reason);
            MqttLinkState state;
            lock (_stateLock)
            {
                state = new MqttLinkState(false, _time.GetUtcNow(), _state.Connects, reason);
                _state = state;
            }

            Volatile.Write(ref _connected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            RaiseStateChanged(state);
        }

        _ = Volatile.Read(ref _connectionClosed).TrySetResult();
        _ = Volatile.Read(ref _lost).TrySetResult();
        return Task.CompletedTask;
    }

    private void RaiseStateChanged(MqttLinkState state)
    {
        try
        {
            StateChanged?.Invoke(state);
        }
        catch (Exception ex)
        {
            // A subscriber's failure must not stop the connection loop.
            Log.MqttHandlerFailed(_logger, Name, "(state)", "(state)", ex);
        }
    }
}
