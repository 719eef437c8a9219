using System.Diagnostics.Metrics;
using System.Text;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Globals;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Mqtt.Tests.Globals;

/// <summary>
/// Fleet Global payloads (50-runtime-monitoring §3.3, §6.6, §8.2): every rejection, the identifier rule included, is
/// logged once as <c>global_update_rejected</c> and counted as <c>fsm2_global_updates_total{source=mqtt,result=rejected}</c>;
/// an applied change counts <c>result=applied</c>.
/// </summary>
public sealed class FleetGlobalsTests : IAsyncDisposable
{
    private const string Topic = "fsm2/fleet/hall/global";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));
    private readonly FakeLogCollector _logs;
    private readonly ILoggerFactory _loggers;
    private readonly SupervisorRuntime _runtime;
    private readonly InMemoryMqttBroker _broker;
    private readonly InMemoryEdgeMqtt _mon;
    private readonly InMemoryEdgeMqtt _ops;
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _updates = new(StringComparer.Ordinal);

    public FleetGlobalsTests()
    {
        _logs = new FakeLogCollector(Microsoft.Extensions.Options.Options.Create(new FakeLogCollectorOptions { TimeProvider = _time }));
        _loggers = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(_logs)).SetMinimumLevel(LogLevel.Trace));
        _runtime = new SupervisorRuntime(new WorkerFactory(), new RuntimeOptions(), _time, _loggers, new ManualObservationScheduler(_time));
        _broker = new InMemoryMqttBroker(_time);
        _mon = _broker.Connect("gw-mon");
        _ops = _broker.Connect("ops");

        // Only this runtime's meter (its per-runtime tag), so parallel tests do not leak into the counts.
        string runtimeTag = _runtime.MeterRuntimeTag;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "fsm2_global_updates_total" && instrument.Meter.Tags?.Any(t => Equals(t.Value, runtimeTag)) == true)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string key = "";
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                key += tag.Key + "=" + tag.Value + ";";
            }

            lock (_updates)
            {
                _updates[key] = _updates.GetValueOrDefault(key) + value;
            }
        });
        _listener.Start();
    }

    [Theory]
    [Trait("spec", "50 §6.6")]
    [InlineData("""{"variables":{"bad-key":1}}""", "'bad-key' is not an identifier")]
    [InlineData("""{"variables":{"b":{"c-d":1}}}""", "key 'c-d' (in global.b) is not an identifier")]
    [InlineData("not json", "invalid JSON")]
    [InlineData("""{"version":3}""", "'variables' is required")]
    public async Task FleetPayloadRejected_LoggedOnceAndCountedAsRejected(string payload, string reason)
    {
        // arrange
        using var fleet = new FleetGlobals(_runtime, _mon, Topic, loggerFactory: _loggers);
        fleet.Start();

        // act
        await _ops.PublishAsync(Topic, Encoding.UTF8.GetBytes(payload), EdgeQos.AtLeastOnce, retain: true, CancellationToken.None);
        _runtime.TickOnce();

        // assert
        FakeLogRecord rejected = Assert.Single(_logs.GetSnapshot(), r => r.Id.Name == "global_update_rejected");
        Assert.Equal(LogLevel.Error, rejected.Level);
        Assert.Contains(reason, rejected.Message, StringComparison.Ordinal);
        Assert.Equal(1, fleet.MessagesRejected);
        Assert.Equal(1, Count("mqtt", "rejected"));
        Assert.Equal(0, Count("mqtt", "applied"));
    }

    [Fact]
    [Trait("spec", "50 §6.6")]
    public async Task FleetPayloadApplied_CountedOncePerChangeOfTheEffectiveGlobal()
    {
        // arrange
        using var fleet = new FleetGlobals(_runtime, _mon, Topic, loggerFactory: _loggers);
        fleet.Start();
        byte[] payload = Encoding.UTF8.GetBytes("""{"version":7,"variables":{"plc_port":15021,"historian":{"retention_days":14}}}""");

        // act: the payload, then the same payload again (a reconnect re-delivers the retained value).
        await _ops.PublishAsync(Topic, payload, EdgeQos.AtLeastOnce, retain: true, CancellationToken.None);
        _runtime.TickOnce();
        await _ops.PublishAsync(Topic, payload, EdgeQos.AtLeastOnce, retain: true, CancellationToken.None);
        _runtime.TickOnce();

        // assert: one change, applied once; nothing rejected.
        Assert.Equal(0, fleet.MessagesRejected);
        Assert.Equal(1, Count("mqtt", "applied"));
        Assert.Equal(0, Count("mqtt", "rejected"));
        FakeLogRecord updated = Assert.Single(_logs.GetSnapshot(), r => r.Id.Name == "global_variables_updated");
        Assert.Contains("historian,plc_port", updated.Message, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _ops.DisposeAsync();
        await _mon.DisposeAsync();
        await _runtime.DisposeAsync();
        _loggers.Dispose();
    }

    private long Count(string source, string result)
    {
        lock (_updates)
        {
            return _updates.GetValueOrDefault($"source={source};result={result};");
        }
    }
}
