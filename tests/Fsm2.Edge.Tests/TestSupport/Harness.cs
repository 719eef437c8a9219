using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>
/// A manual-mode runtime on a fake clock with the manual observation scheduler and a capturing logger.
/// <see cref="Step"/> runs due collections, then one tick, exactly like production but on the test thread.
/// </summary>
public sealed class Harness : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;
    private SupervisorRuntime? _runtime;

    public Harness(RuntimeOptions? options = null)
    {
        Options = options;
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Scheduler = new ManualObservationScheduler(Time);
        Logs = new FakeLogCollector();
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(Logs)).SetMinimumLevel(LogLevel.Trace));
    }

    public RuntimeOptions? Options { get; set; }

    public FakeTimeProvider Time { get; }

    public ManualObservationScheduler Scheduler { get; }

    public WorkerFactory Factory { get; } = new();

    public FakeLogCollector Logs { get; }

    /// <summary>Every TestWorker created, by path (latest instance per path).</summary>
    public Dictionary<string, TestWorker> Workers { get; } = [];

    /// <summary>Every TestWorker instance created, in creation order.</summary>
    public List<TestWorker> AllWorkers { get; } = [];

    public SupervisorRuntime Runtime => _runtime ??= new SupervisorRuntime(Factory, Options, Time, _loggerFactory, Scheduler);

    /// <summary>Registers a TestWorker type; <paramref name="configure"/> scripts each new instance.</summary>
    public void Register(string type, Action<TestWorker>? configure = null)
    {
        Factory.Register<TestObserved, string>(type, id =>
        {
            var worker = new TestWorker(id);
            configure?.Invoke(worker);
            lock (Workers)
            {
                Workers[id.Id] = worker;
                AllWorkers.Add(worker);
            }

            return worker;
        });
    }

    /// <summary>Sets the top-level configuration.</summary>
    public void Configure(params ChildSpec[] entries) => Runtime.SetConfiguration(entries);

    /// <summary>Runs due collections, then one tick; repeated <paramref name="ticks"/> times.</summary>
    public void Step(int ticks = 1)
    {
        for (int i = 0; i < ticks; i++)
        {
            Scheduler.RunDue();
            Runtime.TickOnce();
        }
    }

    /// <summary>Advances the clock, then <see cref="Step"/>.</summary>
    public void AdvanceAndStep(TimeSpan by, int ticks = 1)
    {
        for (int i = 0; i < ticks; i++)
        {
            Time.Advance(by);
            Step();
        }
    }

    public SupervisorNode Node(string path) => Runtime.FindNode(path) ?? throw new Xunit.Sdk.XunitException($"no node '{path}'");

    /// <summary>Log records whose event name equals <paramref name="eventName"/>.</summary>
    public IReadOnlyList<FakeLogRecord> Events(string eventName)
        => Logs.GetSnapshot().Where(r => r.Id.Name == eventName).ToList();

    public static ChildSpec Spec(string name, string type, string config = "", IReadOnlyDictionary<string, string>? mapping = null)
        => new(name, type, new UserSpec(config), mapping);

    public async ValueTask DisposeAsync()
    {
        if (_runtime is not null)
        {
            if (_runtime.IsStarted && !_runtime.Completion.IsCompleted)
            {
                // A started runtime drains only while its fake clock moves: drive the drain here (bounded), so a test
                // that failed half way does not hang the run in DisposeAsync.
                await this.TickUntilAsync(_runtime.ShutdownAsync(), "the drain of a started runtime at dispose");
            }

            try
            {
                await _runtime.DisposeAsync().AsTask().WaitAsync(Wait.DefaultTimeout);
            }
            catch (InvariantViolationException) when (_runtime.Completion.IsFaulted)
            {
                // The drain of a runtime stopped by an invariant violation rethrows it (C-62); release the executor.
                await _runtime.Executor.DisposeAsync();
            }
        }

        _loggerFactory.Dispose();
    }
}
