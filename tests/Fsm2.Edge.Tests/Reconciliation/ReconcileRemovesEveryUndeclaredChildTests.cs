using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Tests.Reconciliation;

/// <summary>
/// Regression: the reconcile loop removes children from the active array while it walks it; every undeclared child,
/// adjacent ones included, must reach the removing set and be finalized (none silently dropped while still registered).
/// </summary>
public sealed class ReconcileRemovesEveryUndeclaredChildTests
{
    [Fact]
    public async Task Reconcile_AdjacentChildrenUndeclared_FinalizesEveryOneAndStopsTheirCollectors()
    {
        // arrange: five top-level synthetic workers.
        await using var harness = new Harness();
        harness.Factory.Register<SyntheticObserved, string>(SyntheticTree.LeafType, _ => new SyntheticWorker(null, startedInitially: true));
        harness.Configure(Leaf("a"), Leaf("b"), Leaf("c"), Leaf("d"), Leaf("e"));
        harness.Step();
        Assert.Equal(5, harness.Runtime.LiveWorkerCount);

        // act: keep only "c"; a and b are adjacent, so are d and e.
        harness.Configure(Leaf("c"));
        harness.Step(3);

        // assert
        Assert.Equal(["c"], harness.Runtime.Root.ListChildren());
        Assert.Empty(harness.Runtime.Root.ListRemovingChildren());
        Assert.Equal(1, harness.Runtime.LiveWorkerCount);
        Assert.Equal(["c"], harness.Scheduler.Collectors.Select(c => c.WorkerId));
    }

    private static ChildSpec Leaf(string name) => new(name, SyntheticTree.LeafType, UserSpec.Empty);
}
