using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>State mapping (§9): the parent's effective desired state keys each child's desired-state override.</summary>
public sealed class StateMappingTests
{
    private static readonly Dictionary<string, string> s_idleActive = new() { ["idle"] = "stopped", ["active"] = "running" };

    [Fact]
    [Trait("spec", "C-51")]
    public async Task C51_ParentEffectiveStateChanges_ChildMappedStateFollows()
    {
        // arrange: the parent's derived state is its config text; the child derives "warm" on its own.
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("c", "leaf", "warm", s_idleActive)], state: null);

        // act
        h.Redeclare("p", "parent", "idle", ticks: 2);

        // assert
        SupervisorNode child = h.Node("p/c");
        Assert.Equal("idle", h.Node("p").EffectiveDesiredState);
        Assert.Equal("stopped", child.EffectiveDesiredState);
        Assert.Equal("stopped", ((DesiredState<string>)child.Desired!).State);

        // act
        h.Redeclare("p", "parent", "active");

        // assert
        Assert.Equal("running", child.EffectiveDesiredState);
        Assert.Equal("running", child.MappedState);
        Assert.Equal("running", ((DesiredState<string>)child.Desired!).State);
        Assert.Equal(1, h.Worker("p/c").DeriveCalls);
    }

    [Fact]
    [Trait("spec", "C-53")]
    public async Task C53_NoMappingNoOverride_EffectiveEqualsDerivedState()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("c", "leaf", "warm")], state: null);

        // act
        h.Redeclare("p", "parent", "idle", ticks: 2);
        string inIdle = h.Node("p/c").EffectiveDesiredState;
        h.Redeclare("p", "parent", "active");
        string inActive = h.Node("p/c").EffectiveDesiredState;

        // assert
        Assert.Equal("warm", inIdle);
        Assert.Equal("warm", inActive);
        Assert.Null(h.Node("p/c").MappedState);
    }

    [Fact]
    [Trait("spec", "C-53")]
    public async Task C53_ExplicitOverrideWithNullMapping_StaysInEveryParentState()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("c", "leaf", "warm")], state: null);
        h.Redeclare("p", "parent", "idle", ticks: 2);

        // act
        h.Runtime.SetDesiredStateOverride("p/c", "initial");
        h.Step();

        // assert
        SupervisorNode child = h.Node("p/c");
        Assert.Equal("initial", child.EffectiveDesiredState);
        foreach (string parentState in new[] { "active", "busy", "idle" })
        {
            h.Redeclare("p", "parent", parentState);
            Assert.Equal(parentState, h.Node("p").EffectiveDesiredState);
            Assert.Equal("initial", child.EffectiveDesiredState);
            Assert.Equal("initial", ((DesiredState<string>)child.Desired!).State);
        }
    }

    [Fact]
    [Trait("spec", "C-54")]
    public async Task C54_MappingCascades_GrandchildMappedInTheSameTick()
    {
        // arrange: top-level C under the root (effective "running"), grandchild G under C.
        await using var h = new Harness();
        h.Register("leaf");
        h.Register("mid", w => w.Children = [Spec("G", "leaf", "own", new Dictionary<string, string> { ["active"] = "up" })]);
        h.Configure(Spec("C", "mid", "", new Dictionary<string, string> { ["running"] = "active" }));

        // act
        h.Step();

        // assert
        Assert.Equal("active", h.Node("C").EffectiveDesiredState);
        Assert.Equal("up", h.Node("C/G").EffectiveDesiredState);
        Assert.Equal(1, h.Node("C/G").TickCount);
    }

    [Fact]
    [Trait("spec", "C-55")]
    public async Task C55_ParentFsmStateDiffersFromEffective_MappingKeyedByEffectiveState()
    {
        // arrange: the parent's FSM sits in "starting" while its effective desired state is "running".
        await using var h = new Harness();
        h.Register("leaf");
        var starting = new LambdaState("starting", static (self, in s) => Transition.To(self, "still starting"));
        var mapping = new Dictionary<string, string> { ["running"] = "active", ["starting"] = "wrong" };
        h.RegisterParent("parent", _ => [Spec("c", "leaf", "own", mapping)], w => w.InitialState = starting);

        // act
        h.Redeclare("p", "parent", "v1", ticks: 3);

        // assert
        Assert.Equal("starting", h.Node("p").CurrentStateName);
        Assert.Equal("running", h.Node("p").EffectiveDesiredState);
        Assert.True(starting.Calls >= 1);
        Assert.Equal("active", h.Node("p/c").EffectiveDesiredState);
    }

    [Fact]
    [Trait("spec", "C-56")]
    public async Task C56_MappingYieldsShutdown_ChildStaysActiveWithoutShutdownFlag()
    {
        // arrange
        await using var h = new Harness();
        LambdaState childState = TestStates.NewIdle("child-idle");
        h.Register("leaf", w => w.InitialState = childState);
        h.RegisterParent("parent", _ => [Spec("c", "leaf", "own", new Dictionary<string, string> { ["running"] = "shutdown" })]);

        // act
        h.Redeclare("p", "parent", "v1", ticks: 5);

        // assert
        SupervisorNode child = h.Node("p/c");
        Assert.Equal("shutdown", child.EffectiveDesiredState);
        Assert.False(child.ShutdownRequested);
        Assert.False(((DesiredState<string>)child.Desired!).ShutdownRequested);
        Assert.Equal(NodeLifecycle.Active, child.Lifecycle);
        Assert.Equal(["c"], h.Node("p").ListChildren());
        Assert.False(child.WorkerDone);
        Assert.Equal(4, childState.Calls);
    }
}
