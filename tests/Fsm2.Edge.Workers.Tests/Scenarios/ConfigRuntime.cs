using System.Net;
using System.Net.Sockets;
using System.Text;
using Fsm2.Edge.Config;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers.Pack;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios;

/// <summary>
/// A YAML file run the way the host runs it — <see cref="ConfigLoader"/>, <see cref="ConfigWatcher"/>, the <c>group</c>
/// type and the real worker pack — on the in-memory MQTT double, with a capturing logger and an observer client
/// subscribed to <c>#</c>. A reload rewrites the file and runs the watcher's pipeline at once (no debounce).
/// </summary>
internal sealed class ConfigRuntime : IAsyncDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-scenario-" + Guid.NewGuid().ToString("N"));
    private readonly GroupChildrenTable _groups = new();
    private readonly LoggerFactory _loggers;
    private ConfigWatcher? _watcher;

    public ConfigRuntime(string yaml)
    {
        Directory.CreateDirectory(_dir);
        File = Path.Combine(_dir, "plant.yaml");
        System.IO.File.WriteAllText(File, yaml);
        Logs = new FakeLogCollector();
        _loggers = new LoggerFactory([new FakeLoggerProvider(Logs)]);
        Data = Broker.Connect("gw-data");
        Observer = new Recorder();
        ObserverClient = Broker.Connect("observer");
        _ = ObserverClient.Route("#", EdgeQos.AtLeastOnce, Observer);

        var factory = new WorkerFactory();
        GroupWorker.Register(factory, _groups);
        WorkerPack.Register(factory, new WorkerPackOptions { Mqtt = Data, LoggerFactory = _loggers, Templates = Templates });
        Runtime = new SupervisorRuntime(factory, new RuntimeOptions
        {
            TickInterval = TimeSpan.FromMilliseconds(10),
            ObservationInterval = TimeSpan.FromMilliseconds(50),
        }, TimeProvider.System, _loggers);
        Options = new ConfigLoadOptions
        {
            Registry = factory,
            Profiles = ProfileLookup.InDirectory(Path.Combine(AppContext.BaseDirectory, "hw-profiles")),
            DefaultRuntimeId = "gw-test",
        };
    }

    public string File { get; }

    public InMemoryMqttBroker Broker { get; } = new();

    public InMemoryEdgeMqtt Data { get; }

    public InMemoryEdgeMqtt ObserverClient { get; }

    public Recorder Observer { get; }

    public FakeLogCollector Logs { get; }

    public SupervisorRuntime Runtime { get; }

    public ConfigLoadOptions Options { get; }

    public ConfigWatcher Watcher => _watcher ?? throw new InvalidOperationException("not started");

    /// <summary>A free loopback TCP port (listener opened on port 0 and closed).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Loads the file (it must be valid), applies it as generation 1 and starts the tick loop.</summary>
    public void Start()
    {
        ConfigLoadResult result = ConfigLoader.LoadFile(File, Options);
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        _watcher = new ConfigWatcher(result.Config, Options, Runtime, _groups, TimeProvider.System, _loggers.CreateLogger("Fsm2.Edge.Config"));
        _watcher.ApplyInitial();
        Runtime.Start();
    }

    /// <summary>Rewrites the file and reloads it through the watcher's pipeline.</summary>
    public ConfigReloadOutcome Reload(string yaml)
    {
        System.IO.File.WriteAllText(File, yaml);
        return Watcher.ReloadNow();
    }

    public SupervisorNode Node(string path) => Runtime.FindNode(path) ?? throw new Xunit.Sdk.XunitException($"no node '{path}'");

    /// <summary>Waits (bounded) until every node in <paramref name="paths"/> is in <paramref name="state"/>.</summary>
    public void WaitState(string state, params string[] paths)
    {
        try
        {
            Wait.Until(() => paths.All(p => Runtime.FindNode(p)?.CurrentStateName == state), $"nodes {state}", TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"nodes not {state}: " + string.Join("; ", paths.Select(p => Runtime.FindNode(p) is { } n
                ? $"{p}={n.CurrentStateName} desired={n.EffectiveDesiredState} reason={n.Reason} error={n.LastError?.Message}"
                : $"{p}=missing")));
        }
    }

    /// <summary>The captured records of one event name.</summary>
    public IReadOnlyList<FakeLogRecord> Events(string name) => Logs.GetSnapshot().Where(r => r.Id.Name == name).ToList();

    /// <summary>The states a node has entered, in order, from <c>state_transition</c> (the first entry is the first <c>from</c>).</summary>
    public List<string> StatePath(string node, int fromRecord = 0)
    {
        var path = new List<string>();
        foreach (FakeLogRecord record in Logs.GetSnapshot().Skip(fromRecord).Where(r => r.Id.Name == "state_transition"))
        {
            if (Field(record, "Node") != node)
            {
                continue;
            }

            if (path.Count == 0)
            {
                path.Add(Field(record, "From") ?? "");
            }

            path.Add(Field(record, "To") ?? "");
        }

        return path;
    }

    public static string? Field(FakeLogRecord record, string key)
        => record.StructuredState?.FirstOrDefault(p => p.Key == key).Value;

    public async ValueTask DisposeAsync()
    {
        _watcher?.Dispose();
        try
        {
            await Runtime.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            await Runtime.DisposeAsync();
            await ObserverClient.DisposeAsync();
            await Data.DisposeAsync();
            _loggers.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }

    // The pack's per-message templates: those of the config the watcher currently runs (as the host wires it).
    private IReadOnlyDictionary<string, string>? Templates(string path)
    {
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

    /// <summary>Every message the observer receives, by topic.</summary>
    internal sealed class Recorder : IEdgeMessageHandler
    {
        private readonly List<(string Topic, string Payload)> _messages = [];

        public int Count(Func<string, bool> topic)
        {
            lock (_messages)
            {
                return _messages.Count(m => topic(m.Topic));
            }
        }

        public int Count(string topic) => Count(t => t == topic);

        public List<string> Topics(Func<string, bool> topic)
        {
            lock (_messages)
            {
                return _messages.Where(m => topic(m.Topic)).Select(m => m.Topic).Distinct().ToList();
            }
        }

        public void OnMessage(in EdgeMqttMessage message)
        {
            string payload = Encoding.UTF8.GetString(message.Payload);
            lock (_messages)
            {
                _messages.Add((message.Topic, payload));
            }
        }
    }
}
