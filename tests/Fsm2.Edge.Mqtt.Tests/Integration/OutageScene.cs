using System.Collections.Concurrent;
using Fsm2.Edge.Health;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Mqtt.Probes;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Tests.Integration;

/// <summary>
/// A started runtime on the system clock with one parent node <c>line</c> that has an <c>mqtt</c> probe on the broker
/// under test, two cells that emit work actions whenever they have none in flight, and a holder whose one action runs
/// until the test releases it. Timings are compressed through <see cref="RuntimeOptions"/>.
/// </summary>
public sealed class OutageScene : IAsyncDisposable
{
    /// <summary>The parent node, which carries the probe.</summary>
    public const string Line = "line";

    /// <summary>The probe id.</summary>
    public const string ProbeId = "broker-line";

    /// <summary>The holder's path.</summary>
    public const string Holder = "line/holder";

    /// <summary>The cells' paths.</summary>
    public static readonly string[] Cells = ["line/cell-1", "line/cell-2"];

    /// <summary>Every child path.</summary>
    public static readonly string[] Children = ["line/cell-1", "line/cell-2", Holder];

    private readonly ConcurrentDictionary<string, ItWorker> _workers = new(StringComparer.Ordinal);
    private readonly ILoggerFactory _loggerFactory;
    private int _created;

    private OutageScene(string target, EmbeddedBroker? embedded)
    {
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(Events).SetMinimumLevel(LogLevel.Debug));

        // Counts every action handed to the executor. The broker-outage collection runs alone, so only this runtime adds.
        Queued = new MetricCollector<long>(null, "Fsm2.Edge", "fsm2_action_queued_total");
        var factory = new WorkerFactory();
        IReadOnlyList<ChildSpec> children =
        [
            new ChildSpec("cell-1", "it-cell", UserSpec.Empty),
            new ChildSpec("cell-2", "it-cell", UserSpec.Empty),
            new ChildSpec("holder", "it-holder", UserSpec.Empty),
        ];
        factory.Register<ItObserved, string>("it-line", id => Track(new ItWorker(id, new StayState("running"), children)));
        factory.Register<ItObserved, string>("it-cell", id => Track(new ItWorker(id, new CellState(Ledger))));
        factory.Register<ItObserved, string>("it-holder", id => Track(new ItWorker(id, new HolderState(Hold))));
        Runtime = new SupervisorRuntime(factory, Options, TimeProvider.System, _loggerFactory);
        Runtime.AddMqttProbes(new MqttProbeDefaults
        {
            RuntimeId = "gw-int",
            InstanceId = Guid.NewGuid(),
            TopicPrefix = $"fsm2/it-{Guid.NewGuid():N}",
            EmbeddedBroker = embedded,
            LoggerFactory = _loggerFactory,
        });
        Runtime.SetConfiguration([new ChildSpec(Line, "it-line", UserSpec.Empty) { Probes = [new ProbeSpec(MqttProbeRegistration.MqttType, ProbeId, target)] }]);
        Runtime.Start();
    }

    /// <summary>
    /// Compressed timings: probe every 250 ms with a 200 ms budget (3 misses; a loaded 2-core machine must not miss
    /// three loopback echoes in a row), breaker delays 200 ms doubling to 1 s (±20 %), 50 ms ticks, 100 ms observations.
    /// </summary>
    public static RuntimeOptions Options { get; } = new()
    {
        TickInterval = TimeSpan.FromMilliseconds(50),
        ObservationInterval = TimeSpan.FromMilliseconds(100),
        ProbeInterval = TimeSpan.FromMilliseconds(250),
        ProbeTimeout = TimeSpan.FromMilliseconds(200),
        ProbeMissThreshold = 3,
        BreakerBaseDelay = TimeSpan.FromMilliseconds(200),
        BreakerMaxDelay = TimeSpan.FromSeconds(1),
        SupervisionSeed = 18,
    };

    /// <summary>Every log event of the runtime, the probe and the broker client.</summary>
    public EventLog Events { get; } = new();

    /// <summary>The runtime.</summary>
    public SupervisorRuntime Runtime { get; }

    /// <summary>The book of work items.</summary>
    public WorkLedger Ledger { get; } = new();

    /// <summary>The holder's action.</summary>
    public HoldAction Hold { get; } = new();

    /// <summary>Collects <c>fsm2_action_queued_total</c>.</summary>
    public MetricCollector<long> Queued { get; }

    /// <summary>Actions handed to the executor so far.</summary>
    public long QueuedTotal => Queued.GetMeasurementSnapshot().Sum(m => m.Value);

    /// <summary>Worker instances created so far (a restart or re-creation adds one).</summary>
    public int WorkersCreated => Volatile.Read(ref _created);

    /// <summary>Starts the scene against <paramref name="target"/>.</summary>
    public static OutageScene Start(string target, EmbeddedBroker? embedded) => new(target, embedded);

    /// <summary>The published status of a node.</summary>
    public NodeStatus Node(string path) => Runtime.Status.Find(path) ?? throw new Xunit.Sdk.XunitException($"no status for '{path}'");

    /// <summary>The latest worker instance of a node.</summary>
    public ItWorker Worker(string path) => _workers[path];

    /// <summary>A cell's state object.</summary>
    public CellState Cell(string path) => (CellState)_workers[path].State;

    /// <summary>The holder's state object.</summary>
    public HolderState HolderState => (HolderState)_workers[Holder].State;

    /// <summary>The first event named <paramref name="name"/> for <paramref name="subject"/> (a <c>key=value</c> text
    /// such as <c>node=line</c>) logged at or after <paramref name="after"/>.</summary>
    public Task<LoggedEvent> WaitForAsync(string name, string subject, long after, string what, TimeSpan? timeout = null) =>
        Events.WaitForAsync(
            e => e.Timestamp >= after && e.Name == name && e.Message.Contains(subject + " ", StringComparison.Ordinal), what, timeout);

    /// <summary>Probe runs of this scene's probe logged in [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public IReadOnlyList<LoggedEvent> ProbeRuns(long from, long to) =>
        Events.Snapshot().Where(e => e.Name == "probe_run" && e.Timestamp >= from && e.Timestamp <= to
            && e.Message.Contains($"probe={ProbeId} ", StringComparison.Ordinal)).ToList();

    /// <summary>Stops new work and waits until every action handed to the executor has completed.</summary>
    public void Quiesce()
    {
        Ledger.Paused = true;

        // A tick that read the flag before it was set may still enqueue: let two ticks pass, then wait for the executor.
        long tick = Runtime.TickCount;
        Wait.Until(() => Runtime.TickCount >= tick + 2, "two ticks after pausing the work");
        Wait.Until(() => Runtime.OutstandingActions == 0, "every handed-out action to complete");
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Hold.Release();
        Ledger.Paused = true;
        try
        {
            _ = await Runtime.ShutdownAsync().WaitAsync(Wait.DefaultTimeout);
        }
        finally
        {
            await Runtime.DisposeAsync().AsTask().WaitAsync(Wait.DefaultTimeout);
            Queued.Dispose();
            _loggerFactory.Dispose();
        }
    }

    private ItWorker Track(ItWorker worker)
    {
        _workers[worker.Identity.Id] = worker;
        Interlocked.Increment(ref _created);
        return worker;
    }
}
