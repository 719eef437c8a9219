using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Workers.Pack;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Workers.DeviceSimulator;

/// <summary>
/// The running part of one device simulator: a <see cref="TimeProvider"/> timer that publishes every tag per
/// interval, the routes of writable tags and the optional TCP listener. Started and stopped only by the worker's
/// actions (never on the tick thread); read by its collector.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The token source lives only between the start and stop actions, which dispose it; the runtime has no dispose hook for workers.")]
internal sealed class SimulatorEngine
{
    private readonly string _node;
    private readonly WorkerPackOptions _options;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _nodeTag;
    private readonly Lock _lifecycle = new();

    // Guarded by _lifecycle.
    private ITimer? _timer;
    private SimulatorConfig? _running;
    private readonly List<IMqttRoute> _writeRoutes = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _listenerStop;
    private Random _random = new(0);
    private DateTimeOffset _startedAt;
    private int _startAttempts;

    // Shared: written by write-back routes, read by the timer callback.
    private readonly ConcurrentDictionary<string, double> _written = new(StringComparer.Ordinal);

    // Counters: Interlocked; written by the timer and the routes, read by the collector.
    private long _published;
    private long _publishErrors;
    private long _writesApplied;
    private long _lastPublishTicks;
    private int _busy;
    private volatile string? _lastError;

    public SimulatorEngine(string node, WorkerPackOptions options, ILogger logger)
    {
        _node = node;
        _options = options;
        _logger = logger;
        _nodeTag = new KeyValuePair<string, object?>("node", node);
    }

    public long Published => Interlocked.Read(ref _published);

    public long PublishErrors => Interlocked.Read(ref _publishErrors);

    public long WritesApplied => Interlocked.Read(ref _writesApplied);

    public string? LastError => _lastError;

    public DateTimeOffset? LastPublishAt
        => Interlocked.Read(ref _lastPublishTicks) is long ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>Whether the engine publishes with exactly <paramref name="config"/>.</summary>
    public bool IsPublishing(SimulatorConfig config)
    {
        lock (_lifecycle)
        {
            return _timer is not null && _running is { } running && SimulatorConfig.SameSettings(running, config);
        }
    }

    /// <summary>The config the engine publishes with, or <see langword="null"/> when stopped.</summary>
    public SimulatorConfig? RunningConfig
    {
        get
        {
            lock (_lifecycle)
            {
                return _timer is null ? null : _running;
            }
        }
    }

    public bool IsPublishingAny
    {
        get
        {
            lock (_lifecycle)
            {
                return _timer is not null;
            }
        }
    }

    public bool Listening
    {
        get
        {
            lock (_lifecycle)
            {
                return _listener is not null;
            }
        }
    }

    /// <summary>The <c>start_publishing</c> action. Idempotent: running with the same config does nothing; another config restarts.</summary>
    /// <exception cref="InvalidOperationException">A configured start failure (<c>faults.start_failures</c>).</exception>
    /// <exception cref="SocketException">The TCP listener cannot bind.</exception>
    public void Start(SimulatorConfig config)
    {
        lock (_lifecycle)
        {
            if (_timer is not null && Equals(_running, config))
            {
                return;
            }

            if (++_startAttempts <= config.StartFailures)
            {
                _lastError = $"simulated start failure {_startAttempts} of {config.StartFailures}";
                throw new InvalidOperationException(_lastError);
            }

            StopLocked();
            _running = config;
            _random = new Random(config.Seed);
            _startedAt = _options.Time.GetUtcNow();
            _written.Clear();
            foreach (SimulatedTag tag in config.Tags)
            {
                if (tag.Writable)
                {
                    string filter = $"{config.TopicPrefix}/{config.Device}/{tag.Name}/set";
                    _writeRoutes.Add(_options.Mqtt.Route(filter, EdgeQos.AtLeastOnce, new WriteHandler(this, tag.Name)));
                }
            }

            if (config.TcpListen is { } endpoint)
            {
                var listener = new TcpListener(endpoint);
                listener.Start();
                _listener = listener;
                _listenerStop = new CancellationTokenSource();
                CancellationToken stop = _listenerStop.Token;
                _ = Task.Run(() => AcceptLoopAsync(listener, stop), CancellationToken.None);
            }

            _timer = _options.Time.CreateTimer(static state => ((SimulatorEngine)state!).OnTimer(), this, config.Interval, config.Interval);
        }

        Log.SimulatorStarted(_logger, _node, config.Device, config.Tags.Count, (long)config.Interval.TotalMilliseconds);
    }

    /// <summary>The <c>stop_publishing</c> action. Idempotent.</summary>
    public void Stop()
    {
        SimulatorConfig? stopped;
        lock (_lifecycle)
        {
            stopped = _timer is null ? null : _running;
            StopLocked();
        }

        if (stopped is not null)
        {
            Log.SimulatorStopped(_logger, _node, stopped.Device, Published);
        }
    }

    /// <summary>The value a tag publishes at <paramref name="elapsed"/> since start (written values win).</summary>
    internal double ValueOf(SimulatedTag tag, TimeSpan elapsed, Random random)
    {
        if (_written.TryGetValue(tag.Name, out double written))
        {
            return written;
        }

        double span = tag.Max - tag.Min;
        double phase = tag.Period > TimeSpan.Zero ? elapsed.TotalMilliseconds / tag.Period.TotalMilliseconds : 0;
        double value = tag.Kind switch
        {
            "sine" => tag.Min + (span * (0.5 + (0.5 * Math.Sin(2 * Math.PI * phase)))),
            "ramp" => tag.Min + (span * (phase - Math.Floor(phase))),
            "random" => tag.Min + (span * random.NextDouble()),
            "step" => ((long)Math.Floor(phase) % 2) == 0 ? tag.Min : tag.Max,
            _ => tag.Value,
        };
        return Math.Round(value, 3); // three decimals: arbitrary, chosen so device payloads stay short and readable.
    }

    private void StopLocked()
    {
        _timer?.Dispose();
        _timer = null;
        foreach (IMqttRoute route in _writeRoutes)
        {
            route.Dispose();
        }

        _writeRoutes.Clear();
        _listenerStop?.Cancel();
        _listenerStop?.Dispose();
        _listenerStop = null;
        _listener?.Stop();
        _listener?.Dispose();
        _listener = null;
    }

    private void OnTimer()
    {
        // A slow broker must not stack publications: a tick that finds the previous batch still running is skipped.
        if (Interlocked.Exchange(ref _busy, 1) == 1)
        {
            return;
        }

        SimulatorConfig? config;
        Random random;
        DateTimeOffset startedAt;
        lock (_lifecycle)
        {
            config = _timer is null ? null : _running;
            random = _random;
            startedAt = _startedAt;
        }

        if (config is null)
        {
            Volatile.Write(ref _busy, 0);
            return;
        }

        _ = PublishAllAsync(config, random, startedAt);
    }

    private async Task PublishAllAsync(SimulatorConfig config, Random random, DateTimeOffset startedAt)
    {
        try
        {
            DateTimeOffset now = _options.Time.GetUtcNow();
            var buffer = new ArrayBufferWriter<byte>(64);
            foreach (SimulatedTag tag in config.Tags)
            {
                string topic = $"{config.TopicPrefix}/{config.Device}/{tag.Name}";
                buffer.ResetWrittenCount();
                PayloadJson.WriteValue(buffer, ValueOf(tag, now - startedAt, random), now);
                try
                {
                    if (config.PublishFailRate > 0 && random.NextDouble() < config.PublishFailRate)
                    {
                        throw new MqttPublishException("simulated publish failure (faults.publish_fail_rate)");
                    }

                    await _options.Mqtt.PublishAsync(topic, buffer.WrittenMemory, config.Qos, retain: false, CancellationToken.None).ConfigureAwait(false);
                    Interlocked.Increment(ref _published);
                    Interlocked.Exchange(ref _lastPublishTicks, now.UtcTicks);
                    _options.Metrics.SimulatorMessages.Add(1, _nodeTag);
                }
                catch (MqttPublishException ex)
                {
                    Interlocked.Increment(ref _publishErrors);
                    _lastError = ex.Message;
                    Log.SimulatorPublishFailed(_logger, _node, topic, ex.Message);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static async Task AcceptLoopAsync(TcpListener listener, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using Socket socket = await listener.AcceptSocketAsync(stop).ConfigureAwait(false);
                socket.Close();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The listener was stopped.
        }
    }

    private void ApplyWrite(string tag, double value)
    {
        _written[tag] = value;
        Interlocked.Increment(ref _writesApplied);
        Log.SimulatorWriteApplied(_logger, _node, tag, value);
    }

    private sealed class WriteHandler(SimulatorEngine engine, string tag) : IEdgeMessageHandler
    {
        public void OnMessage(in EdgeMqttMessage message)
        {
            byte[] payload = message.Payload.ToArray();
            if (PayloadJson.TryReadValue(payload, out double value))
            {
                engine.ApplyWrite(tag, value);
            }
        }
    }
}
