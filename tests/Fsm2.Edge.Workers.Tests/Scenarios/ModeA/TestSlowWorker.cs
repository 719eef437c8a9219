using System.Collections.Concurrent;
using Fsm2.Edge.Config;
using Fsm2.Edge.Execution;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>What a <c>test-slow</c> node observes (60-scenarios §1.2): whether its device is connected, and how many
/// <c>connect</c> attempts have started.</summary>
internal sealed record TestSlowObserved(bool Connected, int Attempts);

/// <summary>The parsed config of a <c>test-slow</c> node (60-scenarios §1.2); offsets are from runtime start.</summary>
internal sealed record TestSlowConfig(
    TimeSpan? ConnectDuration,
    TimeSpan? SlowUntil,
    TimeSpan? ConnectTimeout,
    int ConnectFailTimes,
    TimeSpan? CollectorHangFrom,
    TimeSpan? CollectorHangUntil)
{
    /// <summary>Parses <c>key: value</c> lines; <c>connect_duration: forever</c> is <see cref="ConnectDuration"/> null.</summary>
    public static TestSlowConfig Parse(string text)
    {
        TimeSpan? duration = TimeSpan.Zero, slowUntil = null, timeout = null, hangFrom = null, hangUntil = null;
        int failTimes = 0;
        foreach (string raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = raw.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new FormatException($"test-slow config: expected 'key: value', got '{raw}'");
            }

            string key = raw[..colon].Trim();
            string value = raw[(colon + 1)..].Trim().Trim('"');
            switch (key)
            {
                case "connect_duration":
                    duration = value == "forever" ? null : Duration(key, value);
                    break;
                case "slow_until":
                    slowUntil = Duration(key, value);
                    break;
                case "connect_timeout":
                    timeout = Duration(key, value);
                    break;
                case "connect_fail_times":
                    failTimes = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "collector_hang_from":
                    hangFrom = Duration(key, value);
                    break;
                case "collector_hang_until":
                    hangUntil = Duration(key, value);
                    break;
                default:
                    throw new FormatException($"test-slow config: unknown key '{key}'");
            }
        }

        return new TestSlowConfig(duration, slowUntil, timeout, failTimes, hangFrom, hangUntil);
    }

    private static TimeSpan Duration(string key, string value)
        => DurationParser.TryParse(value, out TimeSpan d) ? d : throw new FormatException($"test-slow config: {key}: invalid duration '{value}'");
}

/// <summary>
/// The device behind one <c>test-slow</c> path: it outlives worker instances (a restarted worker sees the same device),
/// counts attempts and parks <c>connect</c> runs on the fake clock or until the test releases them.
/// </summary>
internal sealed class TestSlowDevice(string path)
{
    private readonly List<(TaskCompletionSource Run, Action Unpark)> _forever = [];
    private int _connected;
    private int _attempts;
    private int _failures;
    private int _instances;

    public string Path { get; } = path;

    public bool Connected
    {
        get => Volatile.Read(ref _connected) != 0;
        set => Volatile.Write(ref _connected, value ? 1 : 0);
    }

    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Connect runs that completed (returned normally or with an exception), in completion order.</summary>
    public ConcurrentQueue<(int Attempt, string Outcome)> Completions { get; } = new();

    public int NextAttempt() => Interlocked.Increment(ref _attempts);

    /// <summary>Worker instances created for this path so far (a restart by the parent creates a new one).</summary>
    public int Instances => Volatile.Read(ref _instances);

    /// <summary>The latest action status each instance (1-based) saw in its snapshot.</summary>
    public ConcurrentDictionary<int, ActionStatus> SeenByInstance { get; } = new();

    public int NewInstance() => Interlocked.Increment(ref _instances);

    public bool ConsumeFailure(int failTimes) => Interlocked.Increment(ref _failures) <= failTimes;

    /// <summary>Parks a <c>forever</c> connect until <see cref="Release"/> (it ignores cancellation).</summary>
    public Task Park(ParkCounter counter)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Action unpark = counter.Enter();
        lock (_forever)
        {
            _forever.Add((tcs, unpark));
        }

        return tcs.Task;
    }

    /// <summary>How many <c>forever</c> runs have been parked so far.</summary>
    public int ParkedForever
    {
        get
        {
            lock (_forever)
            {
                return _forever.Count;
            }
        }
    }

    /// <summary>Releases the <paramref name="index"/>-th (0-based) parked <c>forever</c> run.</summary>
    public void Release(int index)
    {
        lock (_forever)
        {
            _forever[index].Unpark();
            _forever[index].Run.TrySetResult();
        }
    }

    /// <summary>Releases every parked run (dispose).</summary>
    public void ReleaseAll()
    {
        lock (_forever)
        {
            foreach ((TaskCompletionSource run, Action unpark) in _forever)
            {
                unpark();
                run.TrySetResult();
            }
        }
    }
}

/// <summary>
/// The <c>test-slow</c> worker type of 60-scenarios §1.2: <c>stopped</c> → <c>trying_to_connect</c> (action
/// <c>connect</c>) → <c>connected</c>, and <c>trying_to_disconnect</c> (action <c>disconnect</c>). Every delay runs on
/// the runtime's (fake) clock; the harness counts runs parked on it so it knows when the runtime has settled.
/// </summary>
internal sealed class TestSlowWorker : IWorker<TestSlowObserved, TestSlowConfig>
{
    public const string Type = "test-slow";

    private readonly TestSlowDevice _device;
    private readonly TestSlowEnvironment _env;
    private readonly int _instance;

    public TestSlowWorker(TestSlowDevice device, TestSlowEnvironment env)
    {
        _device = device;
        _env = env;
        _instance = device.NewInstance();
    }

    // Records the action status this instance's Next sees (a restarted node's new instance sees the old action's result).
    private void Saw(in Snapshot<TestSlowObserved, TestSlowConfig> snapshot) => _device.SeenByInstance[_instance] = snapshot.Action;

    public async ValueTask<TestSlowObserved> CollectObservedStateAsync(DesiredState<TestSlowConfig> desired, CancellationToken cancellationToken)
    {
        TestSlowConfig config = desired.Config;
        if (config is { CollectorHangFrom: { } from, CollectorHangUntil: { } until })
        {
            TimeSpan now = _env.SinceStart();
            if (now >= from && now < until)
            {
                // A hung collector: it ignores its token and blocks until the hang window ends on the fake clock.
                await _env.ParkAsync(until - now, _env.ParkedCollections, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return new TestSlowObserved(_device.Connected, _device.Attempts);
    }

    public DerivedState<TestSlowConfig> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new DerivedState<TestSlowConfig>("active", TestSlowConfig.Parse(spec.Config));
    }

    public IState<TestSlowObserved, TestSlowConfig> GetInitialState() => new Stopped(this);

    private static bool StopRequested(in Snapshot<TestSlowObserved, TestSlowConfig> s) => s.ShutdownRequested || s.Desired.State != "active";

    private sealed class Stopped(TestSlowWorker w) : IState<TestSlowObserved, TestSlowConfig>
    {
        public string Name => "stopped";

        public Transition<TestSlowObserved, TestSlowConfig> Next(in Snapshot<TestSlowObserved, TestSlowConfig> snapshot)
        {
            w.Saw(in snapshot);

            if (snapshot.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shutdown");
            }

            return StopRequested(snapshot) ? Transition.To(this) : Transition.To<TestSlowObserved, TestSlowConfig>(new TryingToConnect(w), "desired active");
        }
    }

    private sealed class TryingToConnect(TestSlowWorker w) : IState<TestSlowObserved, TestSlowConfig>
    {
        public string Name => "trying_to_connect";

        public Transition<TestSlowObserved, TestSlowConfig> Next(in Snapshot<TestSlowObserved, TestSlowConfig> snapshot)
        {
            w.Saw(in snapshot);

            if (StopRequested(snapshot))
            {
                return Transition.To<TestSlowObserved, TestSlowConfig>(new TryingToDisconnect(w), "stop");
            }

            return snapshot.Observed.Connected
                ? Transition.To<TestSlowObserved, TestSlowConfig>(new Connected(w), "connected")
                : Transition.Act(this, new ConnectAction(w, snapshot.Desired.Config), "connecting");
        }
    }

    private sealed class Connected(TestSlowWorker w) : IState<TestSlowObserved, TestSlowConfig>
    {
        public string Name => "connected";

        public Transition<TestSlowObserved, TestSlowConfig> Next(in Snapshot<TestSlowObserved, TestSlowConfig> snapshot)
        {
            w.Saw(in snapshot);

            if (StopRequested(snapshot))
            {
                return Transition.To<TestSlowObserved, TestSlowConfig>(new TryingToDisconnect(w), "stop");
            }

            return snapshot.Observed.Connected ? Transition.To(this) : Transition.To<TestSlowObserved, TestSlowConfig>(new TryingToConnect(w), "connection lost");
        }
    }

    private sealed class TryingToDisconnect(TestSlowWorker w) : IState<TestSlowObserved, TestSlowConfig>
    {
        public string Name => "trying_to_disconnect";

        public Transition<TestSlowObserved, TestSlowConfig> Next(in Snapshot<TestSlowObserved, TestSlowConfig> snapshot)
        {
            w.Saw(in snapshot);
            return snapshot.Observed.Connected
                ? Transition.Act(this, new DisconnectAction(w), "disconnecting")
                : Transition.To<TestSlowObserved, TestSlowConfig>(new Stopped(w), "disconnected");
        }
    }

    private sealed class ConnectAction(TestSlowWorker w, TestSlowConfig config) : IAction
    {
        public string Kind => "connect";

        public TimeSpan? Timeout => config.ConnectTimeout;

        public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            TestSlowDevice device = w._device;
            int attempt = device.NextAttempt();
            string outcome = "ok";
            try
            {
                if (config.SlowUntil is { } slowUntil && w._env.SinceStart() >= slowUntil)
                {
                    device.Connected = true;
                    return;
                }

                if (device.ConsumeFailure(config.ConnectFailTimes))
                {
                    outcome = "failed";
                    throw new InvalidOperationException($"connect attempt {attempt} failed (connect_fail_times)");
                }

                if (config.ConnectDuration is not { } duration)
                {
                    // 'forever': ignores its token; only the test releases it, and a released run changes nothing.
                    await device.Park(w._env.ParkedActions).ConfigureAwait(false);
                    outcome = "released";
                    return;
                }

                try
                {
                    await w._env.ParkAsync(duration, w._env.ParkedActions, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    outcome = "cancelled";
                    throw;
                }

                device.Connected = true;
            }
            finally
            {
                device.Completions.Enqueue((attempt, outcome));
            }
        }
    }

    private sealed class DisconnectAction(TestSlowWorker w) : IAction
    {
        public string Kind => "disconnect";

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            w._device.Connected = false;
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>What every <c>test-slow</c> worker of one harness shares: the clock, the runtime start and the park counts.</summary>
internal sealed class TestSlowEnvironment(TimeProvider time)
{
    /// <summary>Actions parked on the fake clock (or until released): the harness does not wait for them to settle.</summary>
    public ParkCounter ParkedActions { get; } = new();

    /// <summary>Collections parked on the fake clock.</summary>
    public ParkCounter ParkedCollections { get; } = new();

    /// <summary>
    /// Waits <paramref name="delay"/> of fake time, counted in <paramref name="counter"/> until the clock or the token
    /// ends it. The count drops synchronously inside the timer or cancellation callback (on the thread that advances the
    /// clock), so the harness, once the clock step returns, waits for the continuation instead of racing it.
    /// </summary>
    public async Task ParkAsync(TimeSpan delay, ParkCounter counter, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Action unpark = counter.Enter();
        try
        {
            using ITimer timer = Time.CreateTimer(_ =>
            {
                unpark();
                done.TrySetResult();
            }, null, delay, Timeout.InfiniteTimeSpan);
            using CancellationTokenRegistration registration = cancellationToken.Register(() =>
            {
                unpark();
                done.TrySetCanceled(cancellationToken);
            });
            await done.Task.ConfigureAwait(false);
        }
        finally
        {
            unpark();
        }
    }

    public TimeProvider Time { get; } = time;

    public DateTimeOffset StartedAt { get; set; } = time.GetUtcNow();

    public ConcurrentDictionary<string, TestSlowDevice> Devices { get; } = new(StringComparer.Ordinal);

    public TimeSpan SinceStart() => Time.GetUtcNow() - StartedAt;

    public TestSlowDevice Device(string path) => Devices.GetOrAdd(path, static p => new TestSlowDevice(p));
}

/// <summary>A count of parked runs; <see cref="Enter"/> returns the (idempotent) exit.</summary>
internal sealed class ParkCounter
{
    private int _value;

    public int Value => Volatile.Read(ref _value);

    public Action Enter()
    {
        Interlocked.Increment(ref _value);
        int exited = 0;
        return () =>
        {
            if (Interlocked.Exchange(ref exited, 1) == 0)
            {
                Interlocked.Decrement(ref _value);
            }
        };
    }
}
