using Fsm2.Edge.Collection;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Mqtt.Tests.TestSupport;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>Runs alone: other tests' metric listeners would otherwise see this runtime's instruments too.</summary>
[CollectionDefinition(nameof(TickAllocationGroup), DisableParallelization = true)]
public sealed class TickAllocationGroup;

/// <summary>M-28: the monitoring publisher (its MeterListener included) costs the tick thread nothing.</summary>
[Collection(nameof(TickAllocationGroup))]
public sealed class MonitoringAllocationTests
{
    [Fact]
    [Trait("spec", "M-28")]
    public async Task M28_W1SteadyStateWithPublisherAttached_TickThreadAllocates0BytesOver10000Ticks()
    {
        // arrange: W1 (1,000 workers, 3 levels) on its own tick thread and a fake clock; the publisher on the same clock
        // with 1 s metrics and heartbeat, so the 10,000 ticks (1,000 fake seconds) span about 1,000 snapshots.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var scheduler = new ManualObservationScheduler(time);
        var factory = new WorkerFactory();
        IReadOnlyList<ChildSpec> top = SyntheticTree.Register(factory, 1_000);
        var options = new RuntimeOptions { TickInterval = TimeSpan.FromMilliseconds(100), ShutdownBudget = TimeSpan.FromHours(1) };
        await using var runtime = new SupervisorRuntime(factory, options, time, null, scheduler);
        var broker = new InMemoryMqttBroker(time);
        var monitoring = new MonitoringOptions
        {
            RuntimeId = "gw-w1",
            TopicPrefix = $"fsm2/a{Guid.NewGuid():N}"[..15],
            MetricsInterval = TimeSpan.FromSeconds(1),
            HeartbeatInterval = TimeSpan.FromSeconds(1),
        };
        await using InMemoryEdgeMqtt mon = broker.Connect("gw-w1-mon", MonitoringPublisher.CreateWill(monitoring));
        await using var publisher = new MonitoringPublisher(runtime, mon, monitoring, time);
        runtime.SetConfiguration(top);
        publisher.Start();
        runtime.Start();

        void TickOnceOnTheTickThread()
        {
            long before = runtime.TickCount;
            time.Advance(options.TickInterval);
            Wait.Until(() => runtime.TickCount > before, "the tick thread to tick");
        }

        for (int i = 0; i < 1_000; i++)
        {
            scheduler.RunDue();
            TickOnceOnTheTickThread();
        }

        Assert.Equal(999, runtime.Status.Nodes.Count);
        Assert.All(runtime.Status.Nodes, n => Assert.Equal("running", n.State));
        long snapshotsBefore = publisher.MetricsSequence;

        // act
        long allocatedBefore = runtime.TickThreadAllocatedBytes;
        long ticksBefore = runtime.TickCount;
        for (int i = 0; i < 10_000; i++)
        {
            if (i % 10 == 0)
            {
                scheduler.RunDue();
            }

            TickOnceOnTheTickThread();
        }

        long allocated = runtime.TickThreadAllocatedBytes - allocatedBefore;

        // assert: zero bytes on the tick thread, while the publisher really exported (the tick counter it listens to
        // moved by every tick) and statuses stayed retained.
        Assert.True(runtime.TickCount - ticksBefore >= 10_000);
        Assert.Equal(0, allocated);
        Assert.True(publisher.MetricsSequence - snapshotsBefore >= 900, $"{publisher.MetricsSequence - snapshotsBefore} snapshots");
        Assert.Equal(999, broker.RetainedTopics(monitoring.TopicPrefix + "/status/#").Count);
        List<MetricPoint> points = publisher.Snapshot(runtime.Status);
        Assert.True(points.Single(p => p.Name == "fsm2_tick_total").Value >= 10_000);
    }
}
