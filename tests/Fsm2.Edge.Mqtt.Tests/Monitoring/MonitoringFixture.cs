using System.Text.Json;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>
/// A manual-mode runtime on a fake clock with the synthetic workers, the in-memory broker, a <c>mon</c> client carrying
/// the publisher's will, the publisher, and an observer subscribed to the whole prefix. Timers of the fake clock fire
/// inside <see cref="FakeTimeProvider.Advance"/> and the double delivers synchronously, so every publication has happened
/// when <see cref="Advance"/> returns.
/// </summary>
public sealed class MonitoringFixture : IAsyncDisposable
{
    public MonitoringFixture(Func<MonitoringOptions, MonitoringOptions>? configure = null, RuntimeOptions? runtimeOptions = null, bool startedInitially = true)
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        Scheduler = new ManualObservationScheduler(Time);
        Top = SyntheticTree.Register(Factory, 4, startedInitially);
        Runtime = new SupervisorRuntime(Factory, runtimeOptions ?? new RuntimeOptions { ShutdownBudget = TimeSpan.FromHours(1) }, Time, null, Scheduler);
        Prefix = $"fsm2/m{Guid.NewGuid():N}"[..15];
        var options = new MonitoringOptions
        {
            RuntimeId = "gw-test",
            TopicPrefix = Prefix,
            InstanceId = Guid.Parse("6f0c2b9e-4d7a-4e1f-9a0b-3c5d7e9f1a2b"),
            Profile = "x64-gateway",
            HeartbeatInterval = TimeSpan.FromSeconds(10),
            MetricsInterval = TimeSpan.FromSeconds(1),
        };
        Options = configure?.Invoke(options) ?? options;
        Broker = new InMemoryMqttBroker(Time);
        Mon = Broker.Connect("gw-test-mon", MonitoringPublisher.CreateWill(Options));
        Observer = Broker.Connect("observer");
        ObserverRoute = Observer.Route(Prefix + "/#", EdgeQos.AtLeastOnce, Seen);
        Loggers = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(Logs)).SetMinimumLevel(LogLevel.Debug));
        Publisher = new MonitoringPublisher(Runtime, Mon, Options, Time, Loggers);
    }

    public FakeTimeProvider Time { get; }

    public ManualObservationScheduler Scheduler { get; }

    public WorkerFactory Factory { get; } = new();

    /// <summary>The synthetic configuration: parent <c>p0</c> with leaves <c>p0/w0</c>, <c>p0/w1</c>.</summary>
    public IReadOnlyList<ChildSpec> Top { get; }

    public SupervisorRuntime Runtime { get; }

    public string Prefix { get; }

    public MonitoringOptions Options { get; }

    public InMemoryMqttBroker Broker { get; }

    public InMemoryEdgeMqtt Mon { get; }

    public InMemoryEdgeMqtt Observer { get; }

    public IMqttRoute ObserverRoute { get; }

    public RecordingHandler Seen { get; } = new();

    public MonitoringPublisher Publisher { get; }

    /// <summary>Every event the publisher logged (Debug and above).</summary>
    public FakeLogCollector Logs { get; } = new();

    private ILoggerFactory Loggers { get; }

    /// <summary>The messages of the publisher's events named <paramref name="eventName"/>, in order.</summary>
    public IReadOnlyList<string> Events(string eventName) =>
        [.. Logs.GetSnapshot().Where(r => r.Id.Name == eventName).Select(r => r.Message)];

    /// <summary>A leaf at top level (path = name), for removal tests.</summary>
    public static ChildSpec Leaf(string name) => new(name, SyntheticTree.LeafType, new UserSpec(SyntheticStates.ActiveState));

    /// <summary>Ticks (with due collections) until every node runs, real action threads included.</summary>
    public void TickUntilAllRunning(int expectedNodes)
    {
        TickUntil(status => status.Nodes.Count == expectedNodes && status.Nodes.All(n => n.State == "running"), $"{expectedNodes} nodes running");
    }

    /// <summary>Ticks until <paramref name="condition"/> holds, letting action threads finish between ticks.</summary>
    public void TickUntil(Func<RuntimeStatus, bool> condition, string what) =>
        Wait.Until(
            () =>
            {
                Wait.Until(() => Runtime.OutstandingActions == 0, "actions to complete");
                Time.Advance(TimeSpan.FromMilliseconds(100));
                Step();
                return condition(Runtime.Status);
            },
            what);

    public void Step()
    {
        Scheduler.RunDue();
        Runtime.TickOnce();
    }

    /// <summary>Advances the fake clock in poll-sized steps (each fires the publisher's timer).</summary>
    public void Advance(TimeSpan by)
    {
        TimeSpan step = Options.PollInterval;
        for (TimeSpan done = TimeSpan.Zero; done < by; done += step)
        {
            Time.Advance(step);
        }
    }

    public static JsonElement Json(ReceivedMessage message) => JsonDocument.Parse(message.Payload).RootElement;

    public async ValueTask DisposeAsync()
    {
        await Publisher.DisposeAsync();
        ObserverRoute.Dispose();
        await Observer.DisposeAsync();
        await Mon.DisposeAsync();
        await Runtime.DisposeAsync();
        Loggers.Dispose();
    }
}
