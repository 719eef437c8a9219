using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Fsm2.Edge.Mqtt.Monitoring;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>The <c>observed</c> object of a node status (shared/spec/50-runtime-monitoring.md §6.3) written through a
/// worker type's <see cref="IWorkerStatusWriter{TObserved}"/>, on the in-memory double and a fake clock.</summary>
public sealed class ObservedStatusWriterTests
{
    [Fact]
    [Trait("spec", "50-6.3")]
    public async Task Observed_WrittenByTheWorkersStatusWriter_AFailingWriterLeavesNullAndIsLogged_TypesWithoutOneNull()
    {
        // arrange: one type with a status writer, one whose writer throws, and the plain synthetic type.
        await using var f = new MonitoringFixture();
        f.Factory.Register<SyntheticObserved, string>("writing", _ => new WritingWorker(throws: false));
        f.Factory.Register<SyntheticObserved, string>("throwing", _ => new WritingWorker(throws: true));
        f.Runtime.SetConfiguration(
        [
            new ChildSpec("ok", "writing", new UserSpec(SyntheticStates.ActiveState)),
            new ChildSpec("bad", "throwing", new UserSpec(SyntheticStates.ActiveState)),
            MonitoringFixture.Leaf("plain"),
        ]);

        // act
        f.Publisher.Start();
        f.TickUntilAllRunning(3);
        f.Advance(TimeSpan.FromSeconds(2));

        // assert
        JsonElement ok = MonitoringFixture.Json(f.Seen.On($"{f.Prefix}/status/ok")[^1]);
        Assert.Equal("running", ok.GetProperty("state").GetString());
        JsonElement observed = ok.GetProperty("observed");
        Assert.True(observed.GetProperty("started").GetBoolean());
        Assert.Equal(0, observed.GetProperty("children").GetInt32());
        JsonElement bad = MonitoringFixture.Json(f.Seen.On($"{f.Prefix}/status/bad")[^1]);
        Assert.Equal("running", bad.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, bad.GetProperty("observed").ValueKind);
        Assert.Contains(f.Events("status_observed_failed"), m => m.Contains("node=bad worker_type=throwing", StringComparison.Ordinal));
        Assert.Equal(JsonValueKind.Null, MonitoringFixture.Json(f.Seen.On($"{f.Prefix}/status/plain")[^1]).GetProperty("observed").ValueKind);
    }

    [Fact]
    [Trait("spec", "50-6.3")]
    public async Task StatusObservedFailed_RateLimitedPerNode_FirstAtOnceThenOncePerMinuteWithSuppressedCount()
    {
        // arrange: two nodes whose status writer always throws; a status refresh every 2 s, so each fails every ~2 s.
        await using var f = new MonitoringFixture(o => new MonitoringOptions
        {
            RuntimeId = o.RuntimeId,
            TopicPrefix = o.TopicPrefix,
            StatusMinInterval = TimeSpan.FromSeconds(1),
            StatusRefreshInterval = TimeSpan.FromSeconds(2),
        });
        var calls = new Dictionary<string, StrongBox<int>>(StringComparer.Ordinal) { ["bad1"] = new(), ["bad2"] = new() };
        f.Factory.Register<SyntheticObserved, string>("throwing", id => new WritingWorker(throws: true, calls[id.Name]));
        f.Runtime.SetConfiguration(
        [
            new ChildSpec("bad1", "throwing", new UserSpec(SyntheticStates.ActiveState)),
            new ChildSpec("bad2", "throwing", new UserSpec(SyntheticStates.ActiveState)),
        ]);
        f.Publisher.Start();
        f.TickUntilAllRunning(2);
        var lines = new List<(DateTimeOffset At, string Node, int Suppressed)>();
        int seen = 0;

        // act: 150 s of fake time in 1 s steps; each new line is stamped with the fake time of its step.
        for (int i = 0; i < 150; i++)
        {
            f.Advance(TimeSpan.FromSeconds(1));
            foreach (FakeLogRecord record in f.Logs.GetSnapshot().Where(r => r.Id.Name == "status_observed_failed").Skip(seen))
            {
                lines.Add((f.Time.GetUtcNow(), Field(record, "Node"), int.Parse(Field(record, "Suppressed"), CultureInfo.InvariantCulture)));
                seen++;
            }
        }

        // assert: per node, the first failure is logged, then one line per minute carrying the failures held back since
        // the previous line; every failure is either logged or counted.
        foreach (string node in new[] { "bad1", "bad2" })
        {
            List<(DateTimeOffset At, string Node, int Suppressed)> mine = [.. lines.Where(l => l.Node == node)];
            Assert.InRange(mine.Count, 3, 4);
            Assert.Equal(0, mine[0].Suppressed);
            for (int i = 1; i < mine.Count; i++)
            {
                // At least 60 s apart, at most one refresh later; the 1 s stamping granularity widens both ends by 1 s.
                Assert.InRange((mine[i].At - mine[i - 1].At).TotalSeconds, 59, 64);
                Assert.InRange(mine[i].Suppressed, 25, 60);
            }

            // The failures after the last line are held back until the next one.
            Assert.True(calls[node].Value >= mine.Count + mine.Sum(l => l.Suppressed), $"{node}: {calls[node].Value} failures");
            Assert.True(calls[node].Value - (mine.Count + mine.Sum(l => l.Suppressed)) <= 35, $"{node}: {calls[node].Value} failures");
        }

        // the two nodes are limited independently: bad2's first line does not wait for bad1's window.
        Assert.True(Math.Abs((lines.First(l => l.Node == "bad1").At - lines.First(l => l.Node == "bad2").At).TotalSeconds) < 5);
    }

    private static string Field(FakeLogRecord record, string key) =>
        record.StructuredState?.FirstOrDefault(p => p.Key == key).Value ?? throw new Xunit.Sdk.XunitException($"no field {key}");

    /// <summary>The synthetic leaf with a status writer; <paramref name="calls"/> counts its status writer's calls.</summary>
    private sealed class WritingWorker(bool throws, StrongBox<int>? calls = null) : IWorker<SyntheticObserved, string>, IWorkerStatusWriter<SyntheticObserved>
    {
        private readonly SyntheticWorker _inner = new(null, startedInitially: true);

        public ValueTask<SyntheticObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken) =>
            _inner.CollectObservedStateAsync(desired, cancellationToken);

        public DerivedState<string> DeriveDesiredState(UserSpec spec) => _inner.DeriveDesiredState(spec);

        public IState<SyntheticObserved, string> GetInitialState() => _inner.GetInitialState();

        public void WriteStatus(Utf8JsonWriter writer, SyntheticObserved observed, ChildrenView children)
        {
            writer.WriteBoolean("started", observed.Started);
            if (calls is not null)
            {
                Interlocked.Increment(ref calls.Value);
            }

            if (throws)
            {
                throw new InvalidOperationException("status writer failed");
            }

            writer.WriteNumber("children", children.Count);
        }
    }
}
