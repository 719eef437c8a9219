using System.Text;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Config;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Globals;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers.Pack;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// The mode-A scenario harness of 60-scenarios §1.1: the full runtime in manual mode, built from YAML text through the
/// validation pipeline and <see cref="ConfigWatcher"/> the host uses, with the real worker pack, the <c>group</c>,
/// <c>test-slow</c> and <c>test-parent</c> types, the <c>mqtt</c> probe type and the monitoring publisher on the
/// in-memory MQTT double, a <see cref="FakeTimeProvider"/>, an unsampled capturing logger and an in-process
/// <see cref="ScenarioMetrics"/> listener.
/// </summary>
/// <remarks>
/// <para><see cref="AdvanceAsync"/> steps the clock by the tick interval (timers fire: probes, the publisher, simulator
/// timers, action timeouts), runs the due collections, lets the collections it started finish, runs one tick, and lets
/// the actions that tick enqueued start. "Finish" and "start" are bounded waits on real work (loopback sockets, action
/// threads), never on logic: runs parked on the fake clock are counted by the test worker types and not waited for.</para>
/// <para>A reload hands YAML text to the watcher's pipeline at once (no debounce).</para>
/// </remarks>
internal sealed class EdgeTestHost : IAsyncDisposable
{
    // Bounds of the settle waits on real work (loopback I/O, action threads picking up work); far above what it takes.
    private static readonly TimeSpan s_settleBound = TimeSpan.FromSeconds(1);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-modea-" + Guid.NewGuid().ToString("N"));
    private readonly GroupChildrenTable _groups = new();
    private readonly ILoggerFactory _loggers;
    private readonly List<InMemoryProbe> _probes = [];
    private readonly ConfigWatcher _watcher;
    private bool _disposed;

    public EdgeTestHost(string yaml)
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Logs = new FakeLogCollector(Microsoft.Extensions.Options.Options.Create(new FakeLogCollectorOptions { TimeProvider = Time }));
        _loggers = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(Logs)).SetMinimumLevel(LogLevel.Trace));
        Broker = new InMemoryMqttBroker(Time, _loggers);
        Data = Broker.Connect("gw-data");
        ObserverClient = Broker.Connect("observer");
        _ = ObserverClient.Route("#", EdgeQos.AtLeastOnce, Observer);
        SlowEnv = new TestSlowEnvironment(Time);
        Metrics = new ScenarioMetrics();

        var factory = new WorkerFactory();
        GroupWorker.Register(factory, _groups);
        WorkerPack.Register(factory, new WorkerPackOptions
        {
            Mqtt = Data,
            Time = Time,
            LoggerFactory = _loggers,
            Templates = Templates,
            MeterFactory = Metrics.MeterFactory,
        });
        factory.Register<TestSlowObserved, TestSlowConfig>(TestSlowWorker.Type, id => new TestSlowWorker(SlowEnv.Device(id.Id), SlowEnv));
        TestParentWorker.Register(factory);

        Directory.CreateDirectory(_dir);
        File = Path.Combine(_dir, "plant.yaml");
        System.IO.File.WriteAllText(File, yaml);
        LoadOptions = new ConfigLoadOptions
        {
            Registry = factory,
            Profiles = ProfileLookup.InDirectory(Path.Combine(AppContext.BaseDirectory, "hw-profiles")),
            DefaultRuntimeId = "gw-test",
        };
        ConfigLoadResult result = ConfigLoader.LoadFile(File, LoadOptions);
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        EdgeConfig config = result.Config!;
        RuntimeOptions options = HardwareProfileLoader.ApplyTo(config.Profile, new RuntimeOptions());
        if (config.Runtime.MetricsInterval is { } metricsInterval)
        {
            options = options with { MetricsInterval = metricsInterval };
        }

        TickInterval = options.TickInterval;
        Scheduler = new ManualObservationScheduler(Time);
        Runtime = Metrics.Capture(() => new SupervisorRuntime(factory, options, Time, _loggers, Scheduler));
        Runtime.Probes.Register("mqtt", (spec, _) =>
        {
            var probe = new InMemoryProbe(Broker, config.Runtime.TopicPrefix, spec);
            lock (_probes)
            {
                _probes.Add(probe);
            }

            return probe;
        });

        HardwareProfile profile = config.Profile;
        Monitoring = new MonitoringOptions
        {
            RuntimeId = config.Runtime.Id,
            TopicPrefix = config.Runtime.TopicPrefix,
            Profile = profile.Name,
            HeartbeatInterval = config.Runtime.HeartbeatInterval ?? TimeSpan.FromMilliseconds(profile.Status.HeartbeatMs),
            MetricsInterval = options.MetricsInterval,
            StatusMinInterval = TimeSpan.FromMilliseconds(profile.Status.MinIntervalMs),
            StatusRefreshInterval = TimeSpan.FromMilliseconds(profile.Status.RefreshIntervalMs),
            NodeLabels = profile.Metrics.NodeLabels,
        };
        Mon = Broker.Connect(config.Runtime.Id + "-mon", MonitoringPublisher.CreateWill(Monitoring));
        Publisher = new MonitoringPublisher(Runtime, Mon, Monitoring, Time, _loggers);
        if (config.Runtime.Fleet is { } fleet)
        {
            // Fleet mode (startup step 5): the host's subscription on the mon client.
            Fleet = new FleetGlobals(Runtime, Mon, fleet.GlobalTopic, Publisher, _loggers);
            FleetWait = fleet.WaitForGlobal;
        }

        _watcher = new ConfigWatcher(config, LoadOptions, Runtime, _groups, Time, _loggers.CreateLogger("Fsm2.Edge.Config"));
        _watcher.Reloaded += _ =>
        {
            // As the host does: metrics_interval and heartbeat_interval are hot.
            Publisher.SetConfigInfo(ConfigInfo());
            EdgeConfig current = _watcher.Current;
            Publisher.SetIntervals(
                current.Runtime.MetricsInterval ?? TimeSpan.FromMilliseconds(current.Profile.Metrics.IntervalMs),
                current.Runtime.HeartbeatInterval ?? TimeSpan.FromMilliseconds(current.Profile.Status.HeartbeatMs));
        };
    }

    public FakeTimeProvider Time { get; }

    public TimeSpan TickInterval { get; }

    public ManualObservationScheduler Scheduler { get; }

    public SupervisorRuntime Runtime { get; }

    public FakeLogCollector Logs { get; }

    public ScenarioMetrics Metrics { get; }

    public InMemoryMqttBroker Broker { get; }

    /// <summary>The worker pack's <c>data</c> client.</summary>
    public InMemoryEdgeMqtt Data { get; }

    /// <summary>The monitoring publisher's <c>mon</c> client.</summary>
    public InMemoryEdgeMqtt Mon { get; }

    public InMemoryEdgeMqtt ObserverClient { get; }

    /// <summary>Every message the observer receives (subscribed to <c>#</c>).</summary>
    public MessageLog Observer { get; } = new();

    public MonitoringOptions Monitoring { get; }

    public MonitoringPublisher Publisher { get; }

    public ConfigWatcher Watcher => _watcher;

    /// <summary>In fleet mode (<c>runtime.fleet</c>): the fleet Global subscription; null otherwise.</summary>
    public FleetGlobals? Fleet { get; }

    /// <summary>In fleet mode: <c>fleet.wait_for_global</c>.</summary>
    public TimeSpan FleetWait { get; }

    public ConfigLoadOptions LoadOptions { get; }

    public string File { get; }

    public TestSlowEnvironment SlowEnv { get; }

    /// <summary>Fake time since <see cref="Start"/>.</summary>
    public TimeSpan Elapsed => SlowEnv.SinceStart();

    /// <summary>Applies the config as generation 1 and starts monitoring (the host's startup steps 4–7, in manual mode).</summary>
    public void Start()
    {
        SlowEnv.StartedAt = Time.GetUtcNow();
        Publisher.Start();
        _watcher.ApplyInitial();
        Publisher.SetConfigInfo(ConfigInfo());
        Publisher.MarkOnline();
    }

    /// <summary>
    /// Fleet mode: the host's startup steps 4–7 with step 5 — subscribe to the fleet topic and wait up to
    /// <see cref="FleetWait"/> for the retained value, stepping the fake clock (no tick runs before the runtime starts).
    /// </summary>
    /// <returns>Whether a fleet payload arrived within the wait.</returns>
    public async Task<bool> StartFleetAsync()
    {
        FleetGlobals fleet = Fleet ?? throw new InvalidOperationException("the config has no runtime.fleet");
        SlowEnv.StartedAt = Time.GetUtcNow();
        Publisher.Start();
        _watcher.ApplyInitial();
        Publisher.SetConfigInfo(ConfigInfo());
        Publisher.SetGlobalInfo("file", "");
        fleet.Start(FleetWait);
        Task<bool> waiting = fleet.WaitForFirstAsync(FleetWait, Time);
        for (TimeSpan waited = TimeSpan.Zero; !waiting.IsCompleted && waited < FleetWait; waited += TickInterval)
        {
            Time.Advance(TickInterval);
        }

        // The wait's continuation runs on the thread pool once its fake-clock timeout fired.
        bool received = await waiting.WaitAsync(s_settleBound * 5);
        Publisher.MarkOnline();
        return received;
    }

    /// <summary>Publishes <paramref name="payload"/> retained on the fleet topic from the observer (as an operator would).</summary>
    public ValueTask PublishFleetAsync(string payload)
        => ObserverClient.PublishAsync(Fleet!.Topic, Encoding.UTF8.GetBytes(payload), EdgeQos.AtLeastOnce, retain: true, CancellationToken.None);

    /// <summary>Hands <paramref name="yaml"/> to the watcher's validation pipeline and command path (no debounce).</summary>
    public ConfigReloadOutcome Reload(string yaml)
    {
        System.IO.File.WriteAllText(File, yaml);
        return _watcher.ReloadNow();
    }

    /// <summary>Runs due collections, then one tick (no clock step).</summary>
    public void Step()
    {
        int before = Scheduler.InFlight - SlowEnv.ParkedCollections.Value;
        if (Scheduler.RunDue() > 0)
        {
            _ = SpinWait.SpinUntil(() => Scheduler.InFlight - SlowEnv.ParkedCollections.Value <= before, s_settleBound);
        }

        Runtime.TickOnce();
        if (Runtime.OutstandingActions > 0)
        {
            _ = SpinWait.SpinUntil(() => Runtime.OutstandingActions <= SlowEnv.ParkedActions.Value, s_settleBound);
        }
    }

    /// <summary>Steps the clock by the tick interval, then <see cref="Step"/>, until <paramref name="duration"/> has passed.</summary>
    public Task AdvanceAsync(TimeSpan duration, Action? afterEachTick = null)
    {
        long steps = (long)Math.Ceiling(duration / TickInterval);
        for (long i = 0; i < steps; i++)
        {
            AdvanceClock();
            Step();
            afterEachTick?.Invoke();
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Steps the clock by one tick interval. A parked collection the step released finishes on a pool thread: it is
    /// waited for (bounded), so its result is published before the clock moves on and its call timeout cannot overtake it.
    /// </summary>
    private void AdvanceClock()
    {
        // Parked runs of collectors that were restarted or stopped are no longer in the scheduler's count, hence the clamp.
        int running = Math.Max(0, Scheduler.InFlight - SlowEnv.ParkedCollections.Value);
        int parked = SlowEnv.ParkedCollections.Value;
        Time.Advance(TickInterval);
        if (SlowEnv.ParkedCollections.Value < parked)
        {
            _ = SpinWait.SpinUntil(() => Scheduler.InFlight - SlowEnv.ParkedCollections.Value <= running, s_settleBound);
        }
    }

    /// <summary>Advances tick by tick until <paramref name="condition"/> holds; fails after <paramref name="limit"/> of fake time.</summary>
    public async Task AdvanceUntilAsync(Func<bool> condition, TimeSpan limit, string what)
    {
        long started = Time.GetTimestamp();
        while (!condition())
        {
            if (Time.GetElapsedTime(started) > limit)
            {
                throw new Xunit.Sdk.XunitException($"not within {limit.TotalSeconds} s of fake time: {what}");
            }

            await AdvanceAsync(TickInterval);
        }
    }

    /// <summary>A one-line-per-node dump of the tree and the recent log, for failure messages.</summary>
    public string Describe(int lastLogs = 40)
    {
        var text = new StringBuilder();
        foreach (NodeStatus node in Runtime.Status.Nodes)
        {
            text.Append(node.Path).Append(' ').Append(State(node.Path)).Append(" error=").Append(Runtime.FindNode(node.Path)?.LastError?.Message).Append('\n');
        }

        foreach (FakeLogRecord record in Logs.GetSnapshot().TakeLast(lastLogs))
        {
            text.Append(At(record).TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)).Append(' ').Append(record.Level).Append(' ').Append(record.Message).Append('\n');
        }

        return text.ToString();
    }

    public SupervisorNode Node(string path) => Runtime.FindNode(path) ?? throw new Xunit.Sdk.XunitException($"no node '{path}'");

    public string State(string path) => Runtime.FindNode(path)?.CurrentStateName ?? "(missing)";

    /// <summary>The captured records of one event, optionally of one node (structured field <c>Node</c>).</summary>
    public IReadOnlyList<FakeLogRecord> Events(string name, string? node = null)
        => Logs.GetSnapshot().Where(r => r.Id.Name == name && (node is null || Field(r, "Node") == node)).ToList();

    public static string? Field(FakeLogRecord record, string key)
        => record.StructuredState?.FirstOrDefault(p => p.Key == key).Value;

    /// <summary>The states a node entered, in order, from <c>state_transition</c> (the first element is the first <c>from</c>).</summary>
    public List<string> StatePath(string node, int fromRecord = 0)
    {
        var path = new List<string>();
        foreach (FakeLogRecord record in Logs.GetSnapshot().Skip(fromRecord).Where(r => r.Id.Name == "state_transition" && Field(r, "Node") == node))
        {
            if (path.Count == 0)
            {
                path.Add(Field(record, "From") ?? "");
            }

            path.Add(Field(record, "To") ?? "");
        }

        return path;
    }

    /// <summary>The fake time since <see cref="Start"/> at which <paramref name="record"/> was logged.</summary>
    public TimeSpan At(FakeLogRecord record) => record.Timestamp - SlowEnv.StartedAt;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Fleet?.Stop();
        _watcher.Dispose();
        foreach (TestSlowDevice device in SlowEnv.Devices.Values)
        {
            device.ReleaseAll();
        }

        await Publisher.DisposeAsync();
        await Runtime.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        await Mon.DisposeAsync();
        await Data.DisposeAsync();
        await ObserverClient.DisposeAsync();
        Metrics.Dispose();
        _loggers.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private MonitoringConfigInfo ConfigInfo() => new(
        _watcher.Generation,
        _watcher.Current.ContentHash,
        _watcher.File,
        RestartRequired: _watcher.RestartRequiredFields.Count > 0,
        RejectedHash: _watcher.LastError?.ContentHash,
        LastError: _watcher.LastError?.Message);

    // The pack's per-message templates: those of the config the watcher currently runs (as the host wires it).
    private IReadOnlyDictionary<string, string>? Templates(string path)
    {
        // The constructor's config load runs a dry derive (the protocol converter asks for its templates) before the
        // watcher exists: nothing is declared yet then.
        if (_watcher is not { } watcher)
        {
            return null;
        }

        var pending = new Stack<WorkerEntry>(watcher.Current.Workers);
        while (pending.TryPop(out WorkerEntry? entry))
        {
            if (entry.Path == path)
            {
                return entry.Templates.Count > 0 ? entry.Templates : null;
            }

            foreach (WorkerEntry child in entry.Children)
            {
                pending.Push(child);
            }
        }

        return null;
    }

    /// <summary>Every message a client receives, in order, with its retained flag.</summary>
    internal sealed class MessageLog : IEdgeMessageHandler
    {
        private readonly List<(string Topic, string Payload, bool Retained)> _messages = [];

        public List<(string Topic, string Payload, bool Retained)> Snapshot(Func<string, bool>? topic = null)
        {
            lock (_messages)
            {
                return _messages.Where(m => topic is null || topic(m.Topic)).ToList();
            }
        }

        public int Count => Snapshot().Count;

        public void OnMessage(in EdgeMqttMessage message)
        {
            string payload = Encoding.UTF8.GetString(message.Payload);
            lock (_messages)
            {
                _messages.Add((message.Topic, payload, message.Retained));
            }
        }
    }
}
