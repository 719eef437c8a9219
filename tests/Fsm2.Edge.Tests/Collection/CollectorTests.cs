using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Fsm2.Edge.Tests.Collection;

/// <summary>One collection and its failure modes (§5.1), through the manual scheduler and the production publish path.</summary>
public sealed class CollectorTests
{
    public static TheoryData<string> FailureModes => ["throws", "null", "timeout"];

    [Theory]
    [MemberData(nameof(FailureModes))]
    [Trait("spec", "C-28")]
    public async Task C28_CollectionFails_SlotUnchangedFailureCountedAndCollectionResumes(string mode)
    {
        // arrange: "w" has one observation (sequence 1); then its collections fail in the given way.
        string? failing = null;
        CancellationToken lastToken = default;
        await using var harness = new Harness();
        harness.Register("t", w => w.OnCollect = (_, ct) =>
        {
            lastToken = ct;
            return Volatile.Read(ref failing) switch
            {
                "throws" => throw new IOException("device unreachable"),
                "null" => new ValueTask<TestObserved>((TestObserved)null!),
                "timeout" => TestCollect.UntilCancelled(ct),
                _ => ValueTask.FromResult(new TestObserved(w.CollectCalls)),
            };
        });
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(2);
        SupervisorNode node = harness.Node("w");
        Collector collector = node.Collector!;
        using var observations = new MetricCollector<long>(harness.Runtime.Metrics.Observations);
        Assert.True(node.Worker!.TryGetObservation(out DateTimeOffset collectedAt, out long sequence));
        Assert.Equal(1, sequence);
        Volatile.Write(ref failing, mode);

        // act: the next collection (due one interval later) fails.
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        DateTimeOffset failedStart = harness.Time.GetUtcNow();
        Assert.Equal(1, harness.Scheduler.RunDue());
        bool cancelledBeforeTimeout = false;
        if (mode == "timeout")
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(2199));
            cancelledBeforeTimeout = lastToken.IsCancellationRequested;
            harness.Time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(lastToken.IsCancellationRequested, "the token is cancelled at ObservationTimeout (2.2 s)");
        }

        await harness.Scheduler.WhenIdleAsync().WaitAsync(Wait.DefaultTimeout);
        harness.Runtime.TickOnce();

        // assert
        Assert.False(cancelledBeforeTimeout);
        Assert.True(node.Worker!.TryGetObservation(out DateTimeOffset collectedAtAfter, out long sequenceAfter));
        Assert.Equal(1, sequenceAfter);
        Assert.Equal(collectedAt, collectedAtAfter);
        Assert.Equal(1, collector.Failures);
        Assert.Equal(1, collector.Successes);
        Assert.Null(node.GetError(ErrorSource.Evaluate));
        Assert.Contains(observations.GetMeasurementSnapshot(),
            m => (string?)m.Tags["result"] == (mode == "timeout" ? "timeout" : "error"));
        Assert.Contains(harness.Events("collection_failed"), r => r.Node() == "w");

        // Collection resumes at the next interval: not before it, then once, publishing sequence 2.
        Volatile.Write(ref failing, null);
        DateTimeOffset nextDue = failedStart + TimeSpan.FromSeconds(1);
        if (harness.Time.GetUtcNow() < nextDue)
        {
            harness.Time.Advance(nextDue - harness.Time.GetUtcNow() - TimeSpan.FromMilliseconds(1));
            Assert.Equal(0, harness.Scheduler.RunDue());
            harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(1, harness.Scheduler.RunDue());
        Assert.True(node.Worker!.TryGetObservation(out _, out long resumed));
        Assert.Equal(2, resumed);
        Assert.Equal(CollectorState.Running, collector.State);
    }

    [Fact]
    [Trait("spec", "C-28")]
    public async Task CollectOnce_Success_StampsStartTimeAndIncreasingSequence()
    {
        // arrange: the collection takes 500 ms; CollectedAt is when it started.
        await using var harness = new Harness();
        TaskCompletionSource<TestObserved>? pending = null;
        harness.Register("t", w => w.OnCollect = (_, _) =>
        {
            pending = new TaskCompletionSource<TestObserved>();
            return new ValueTask<TestObserved>(pending.Task);
        });
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step();
        SupervisorNode node = harness.Node("w");
        DateTimeOffset started = harness.Time.GetUtcNow();

        // act
        Assert.Equal(1, harness.Scheduler.RunDue());
        harness.Time.Advance(TimeSpan.FromMilliseconds(500));
        pending!.SetResult(new TestObserved(7));
        await harness.Scheduler.WhenIdleAsync().WaitAsync(Wait.DefaultTimeout);

        // assert
        Assert.True(node.Worker!.TryGetObservation(out DateTimeOffset collectedAt, out long sequence));
        Assert.Equal(started, collectedAt);
        Assert.Equal(1, sequence);
    }
}
