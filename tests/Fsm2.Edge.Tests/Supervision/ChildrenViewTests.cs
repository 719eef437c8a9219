using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>The children view handed to a parent's Next (§10).</summary>
public sealed class ChildrenViewTests
{
    [Fact]
    [Trait("spec", "C-58")]
    public async Task C58_ChildTransitionsThisTick_ParentSeesNewStateInSameTick()
    {
        // arrange: the child moves down → up when it observes value 1; the parent records what its view says.
        var up = new LambdaState("up", static (self, in s) => Transition.To(self));
        var down = new LambdaState("down", (self, in s) => s.Observed.Value == 1 ? Transition.To(up) : Transition.To(self));
        List<string> seen = [];
        var watching = new LambdaState("watching", (self, in s) =>
        {
            seen.Add(s.Children.GetState("conn"));
            return Transition.To(self);
        });
        await using var h = new Harness();
        h.Register("conn", w => w.InitialState = down);
        h.RegisterParent("parent", _ => [Spec("conn", "conn")], w => w.InitialState = watching);
        h.Redeclare("p", "parent", "v1", ticks: 3);
        Assert.Equal(["down", "down"], seen);

        // act
        h.Worker("p/conn").NextObservation = new TestObserved(1);
        h.AdvanceAndStep(TimeSpan.FromSeconds(1));

        // assert
        Assert.Equal("up", h.Node("p/conn").CurrentStateName);
        Assert.Equal(["down", "down", "up"], seen);
        Assert.Equal("up", h.Node("p").Children.GetState("conn"));
    }

    [Fact]
    [Trait("spec", "C-59")]
    public async Task C59_NeverDeclaredRemovingDeferredOrFailedNames_GetStateReturnsEmpty()
    {
        // arrange: "gone" is removing, "def" is re-declared while its old node is still removing (deferred),
        // "bad" has an unregistered type. Both removed children never finish shutting down.
        ChildrenView? lastView = null;
        var watching = new LambdaState("watching", (self, in s) =>
        {
            lastView = s.Children;
            return Transition.To(self);
        });
        await using var h = new Harness();
        h.Register("leaf");
        h.Register("stubborn", w => w.InitialState = TestStates.NewStubborn());
        h.RegisterParent("parent", cfg => cfg switch
        {
            "v1" => [Spec("ok", "leaf"), Spec("gone", "stubborn"), Spec("def", "stubborn")],
            "v2" => [Spec("ok", "leaf"), Spec("bad", "nope")],
            _ => [Spec("ok", "leaf"), Spec("bad", "nope"), Spec("def", "stubborn")],
        }, w => w.InitialState = watching);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        h.Redeclare("p", "parent", "v2");

        // act
        lastView = null;
        h.Redeclare("p", "parent", "v3");

        // assert
        SupervisorNode p = h.Node("p");
        Assert.Equal(["gone", "def"], p.ListRemovingChildren());
        Assert.Null(p.GetChild("def"));
        Assert.NotNull(lastView);
        foreach (ChildrenView view in new[] { lastView, p.Children })
        {
            Assert.Equal("idle", view.GetState("ok"));
            Assert.Equal("", view.GetState("never"));
            Assert.Equal("", view.GetState("gone"));
            Assert.Equal("", view.GetState("def"));
            Assert.Equal("", view.GetState("bad"));
            Assert.Equal("", view.GetState(""));
            Assert.Equal("", view.GetState(null!));
            Assert.False(view.TryGet("def", out _));
            Assert.Single(view);
        }
    }

    [Fact]
    [Trait("spec", "C-60")]
    public async Task C60_ChildPausedByStaleData_ViewShowsLastStateTypeAndReason()
    {
        // arrange: the child reaches "up" (reason "link ok"), then its collections start failing.
        var up = new LambdaState("up", static (self, in s) => Transition.To(self, "link ok"));
        var down = new LambdaState("down", (self, in s) => s.Observed.Value == 1 ? Transition.To(up, "link ok") : Transition.To(self));
        await using var h = new Harness();
        h.Register("conn", w =>
        {
            w.InitialState = down;
            w.NextObservation = new TestObserved(1);
        });
        h.RegisterParent("parent", _ => [Spec("c", "conn")]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        Assert.Equal("up", h.Node("p/c").CurrentStateName);
        h.Worker("p/c").OnCollect = (_, _) => throw new IOException("device unreachable");
        int callsBefore = up.Calls;

        // act: 11 s pass; the parent's collections stay fresh, the child's data ages past StaleThreshold (10 s).
        h.AdvanceAndStep(TimeSpan.FromSeconds(1), ticks: 11);

        // assert
        Assert.Equal(1, h.EventCount("observation_stale", "p/c"));
        Assert.Equal(0, h.EventCount("observation_stale", "p"));
        Assert.Equal(callsBefore + 9, up.Calls);
        ChildrenView view = h.Node("p").Children;
        Assert.True(view.TryGet("c", out ChildInfo info));
        Assert.Equal("up", info.State);
        Assert.Equal("conn", info.WorkerType);
        Assert.Equal("link ok", info.Reason);
        Assert.Equal("up", view.GetState("c"));
    }
}
