using System.Text.Json;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;

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

    /// <summary>The synthetic leaf with a status writer.</summary>
    private sealed class WritingWorker(bool throws) : IWorker<SyntheticObserved, string>, IWorkerStatusWriter<SyntheticObserved>
    {
        private readonly SyntheticWorker _inner = new(null, startedInitially: true);

        public ValueTask<SyntheticObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken) =>
            _inner.CollectObservedStateAsync(desired, cancellationToken);

        public DerivedState<string> DeriveDesiredState(UserSpec spec) => _inner.DeriveDesiredState(spec);

        public IState<SyntheticObserved, string> GetInitialState() => _inner.GetInitialState();

        public void WriteStatus(Utf8JsonWriter writer, SyntheticObserved observed, ChildrenView children)
        {
            writer.WriteBoolean("started", observed.Started);
            if (throws)
            {
                throw new InvalidOperationException("status writer failed");
            }

            writer.WriteNumber("children", children.Count);
        }
    }
}
