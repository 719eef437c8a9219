using System.Diagnostics;
using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>
/// The supervision gates on the hot path (30-supervision §5.1, S-13, S-14): zero allocation with breakers and probes
/// present, and no sleeping or blocking while open. Next to SupervisorRuntimeAllocationTests.
/// </summary>
public sealed class HealthTickAllocationTests
{
    private static (Harness Harness, Dictionary<string, FakeProbe> Probes) TreeWith20ChildrenAnd2Probes()
    {
        var harness = new Harness(new RuntimeOptions { BreakerJitter = 0, SupervisionSeed = 1 });
        Dictionary<string, FakeProbe> probes = FakeProbes.Register(harness);
        string[] names = [.. Enumerable.Range(0, 20).Select(i => $"c{i:00}")];
        harness.RegisterParent("parent", _ => [.. names.Select(n => Spec(n, "leaf"))]);
        harness.Register("leaf");
        ChildSpec top = Spec("p", "parent", "x") with
        {
            Probes = [new ProbeSpec(FakeProbes.Type, "p-one", "fake:1", FakeProbes.Interval, FakeProbes.Interval / 2),
                new ProbeSpec(FakeProbes.Type, "p-two", "fake:2", FakeProbes.Interval, FakeProbes.Interval / 2)],
        };
        harness.Configure(top);
        harness.Step(2);
        harness.AdvanceAndStep(TimeSpan.FromMilliseconds(100), ticks: 10);
        return (harness, probes);
    }

    [Fact]
    [Trait("spec", "S-13")]
    public async Task S13_HealthyNodeWith20ChildrenAnd2Probes_TickAllocates0Bytes()
    {
        // arrange
        (Harness harness, Dictionary<string, FakeProbe> probes) = TreeWith20ChildrenAnd2Probes();
        await using Harness _ = harness;
        Assert.Equal(20, harness.Node("p").ListChildren().Count);
        Assert.Equal(["p-one", "p-two"], harness.Node("p").ProbeIds);
        Assert.All(probes.Values, p => Assert.True(p.Runs > 0));
        for (int i = 0; i < 1_000; i++)
        {
            harness.Runtime.TickOnce();
        }

        // act: each tick evaluates p's breaker (20 children, 2 verdict slots) and the 20 children's own gates.
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            harness.Runtime.TickOnce();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // assert
        Assert.Equal(0, allocated);
        Assert.Equal(BreakerState.Closed, harness.Node("p").BreakerState);
        Assert.Equal(NodeMode.Full, harness.Node("p").Mode);
    }

    [Fact]
    [Trait("spec", "S-14")]
    public async Task S14_OpenNodeWith10ChildrenAndFrozenClock_TickUnderOneMillisecond()
    {
        // arrange
        (Harness harness, Dictionary<string, FakeProbe> probes) = TreeWith20ChildrenAnd2Probes();
        await using Harness _ = harness;
        probes["p-one"].Outcome = ProbeOutcome.Refused;
        for (int i = 0; i < 50 && harness.Node("p").BreakerState != BreakerState.Open; i++)
        {
            harness.AdvanceAndStep(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(BreakerState.Open, harness.Node("p").BreakerState);

        // act: the fake clock does not move, so nothing is ever due; the best of 200 ticks (robust to a busy machine).
        long best = long.MaxValue;
        for (int i = 0; i < 200; i++)
        {
            long start = Stopwatch.GetTimestamp();
            harness.Runtime.TickOnce();
            best = Math.Min(best, Stopwatch.GetTimestamp() - start);
        }

        // assert
        Assert.True(Stopwatch.GetElapsedTime(0, best) < TimeSpan.FromMilliseconds(1), $"best tick {Stopwatch.GetElapsedTime(0, best)}");
        Assert.Equal(BreakerState.Open, harness.Node("p").BreakerState);
    }
}
