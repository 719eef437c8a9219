using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>Failure isolation (§11.1) and the depth limit (§13).</summary>
public sealed class DepthAndIsolationTests
{
    [Fact]
    [Trait("spec", "C-61")]
    public async Task C61_OneChildThrowsEveryTick_ParentAndSiblingUnaffected()
    {
        // arrange
        LambdaState parentState = TestStates.NewIdle("parent-idle");

        // The panic breaker (30-supervision §9.3) would open after 3 panics and, by design, open the parent too (§6);
        // this test is about per-tick containment, so the window is made too large to fill in 100 ticks.
        await using var h = new Harness(new RuntimeOptions { MaxPanics = 1_000 });
        h.Register("failing", w => w.InitialState = StatePaths.NewThrowing());
        h.Register("working", w => w.InitialState = TestStates.NewIdle("working"));
        h.RegisterParent("parent", _ => [Spec("failing", "failing"), Spec("working", "working")], w => w.InitialState = parentState);
        h.ConfigureTop("p", "parent", "v1");

        // act
        int failedTicks = 0;
        for (int i = 0; i < 100; i++)
        {
            if (Record.Exception(() => h.Step()) is not null)
            {
                failedTicks++;
            }
        }

        // assert
        SupervisorNode p = h.Node("p");
        Assert.Equal(0, failedTicks);
        Assert.Equal(["failing", "working"], p.ListChildren());
        Assert.Equal(NodeLifecycle.Active, h.Node("p/failing").Lifecycle);
        Assert.Equal(NodeLifecycle.Active, h.Node("p/working").Lifecycle);
        Assert.Equal(100, h.Node("p/working").TickCount);
        Assert.Equal(100, p.TickCount);
        NodeError? error = h.Node("p/failing").LastError;
        Assert.NotNull(error);
        Assert.Equal(ErrorSource.Evaluate, error.Source);
        Assert.Contains("boom", error.Message, StringComparison.Ordinal);
        Assert.Null(p.LastError);
        Assert.Equal(99, parentState.Calls);
    }

    [Fact]
    [Trait("spec", "C-63")]
    public async Task C63_SelfRecursiveTypeStopsAtLevel5_FiveNestedNodesTickedOnce()
    {
        // arrange
        await using var h = new Harness();
        RegisterRecursive(h, stopAtLevel: 5);
        h.Configure(Spec("n", "rec"));

        // act
        h.Step();

        // assert
        Assert.Equal(5, h.Runtime.LiveWorkerCount);
        string path = "n";
        for (int level = 1; level <= 5; level++)
        {
            SupervisorNode node = h.Node(path);
            Assert.Equal(level, node.Depth);
            Assert.Equal(1, node.TickCount);
            Assert.Null(node.LastError);
            path += "/n";
        }

        Assert.Null(h.Runtime.FindNode(path));
    }

    [Fact]
    [Trait("spec", "C-65")]
    public async Task C65_DepthLimit3_ThreeLevelsAndReconcileErrorOnLevel3()
    {
        // arrange
        await using var h = new Harness(new RuntimeOptions { MaxHierarchyDepth = 3 });
        RegisterRecursive(h, stopAtLevel: 5);
        h.Configure(Spec("n", "rec"));

        // act
        h.Step();

        // assert
        Assert.Equal(3, h.Runtime.LiveWorkerCount);
        Assert.Null(h.Runtime.FindNode("n/n/n/n"));
        SupervisorNode level3 = h.Node("n/n/n");
        Assert.Equal(3, level3.Depth);
        NodeError? error = level3.LastError;
        Assert.NotNull(error);
        Assert.Equal(ErrorSource.Reconcile, error.Source);
        Assert.Equal(
            "failed to create child 'n': max hierarchy depth (3) exceeded creating 'n/n/n/n': possible circular dependency",
            error.Message);
        Assert.Null(h.Node("n").LastError);
        Assert.Null(h.Node("n/n").LastError);

        // act: everything keeps running.
        h.Step(2);

        // assert
        Assert.Equal(3, h.Node("n").TickCount);
        Assert.Equal(3, level3.TickCount);
        Assert.Equal(3, h.Runtime.LiveWorkerCount);
    }

    /// <summary>A worker type that declares a child of its own type until its own level reaches <paramref name="stopAtLevel"/>.</summary>
    private static void RegisterRecursive(Harness h, int stopAtLevel) => h.Register("rec", w => w.OnDerive = spec =>
    {
        string id = (string)spec.Variables.Internal!["id"]!;
        int level = id.Split('/').Length;
        return new DerivedState<string>("running", "", level < stopAtLevel ? [Spec("n", "rec")] : null);
    });
}
