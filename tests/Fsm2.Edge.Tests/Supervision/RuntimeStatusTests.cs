using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Time.Testing;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>The immutable status published for other threads (§3.3).</summary>
public sealed class RuntimeStatusTests
{
    [Fact]
    public async Task Status_AfterTicks_ReflectsChildSetsStatesAndLastErrors()
    {
        // arrange: "a" moves init → up with a reason; "bad" has an unregistered type; "s" shuts down slowly.
        var up = new LambdaState("up", static (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self, "serving"));
        var init = new LambdaState("init", (self, in s) => Transition.To(up, "serving"));
        await using var h = new Harness();
        h.Register("leaf", w => w.InitialState = init);
        h.Register("slow", w => w.InitialState = StatePaths.NewSlowStopper());
        h.RegisterParent("parent", cfg => cfg == "v1"
            ? [Spec("a", "leaf"), Spec("bad", "nope"), Spec("s", "slow")]
            : [Spec("a", "leaf"), Spec("bad", "nope")]);
        h.Redeclare("p", "parent", "v1", ticks: 2);

        // act
        RuntimeStatus status = await h.StatusFromOtherThreadAsync();

        // assert
        Assert.Equal(["p", "p/a", "p/s"], status.Nodes.Select(n => n.Path));
        NodeStatus p = status.Find("p")!;
        Assert.Equal(["a", "s"], p.Children);
        Assert.NotNull(p.LastError);
        Assert.Equal(ErrorSource.Reconcile, p.LastError.Source);
        Assert.Contains("unknown worker type: nope", p.LastError.Message, StringComparison.Ordinal);
        NodeStatus a = status.Find("p/a")!;
        Assert.Equal("up", a.State);
        Assert.Equal("serving", a.Reason);
        Assert.Equal("leaf", a.WorkerType);
        Assert.Equal("running", a.EffectiveDesiredState);
        Assert.Equal(NodeLifecycle.Active, a.Lifecycle);
        Assert.Null(a.LastError);
        Assert.Null(status.Find("p/bad"));

        // act
        h.Redeclare("p", "parent", "v2");
        RuntimeStatus afterRemoval = await h.StatusFromOtherThreadAsync();

        // assert
        Assert.NotSame(status, afterRemoval);
        Assert.True(afterRemoval.Generation > status.Generation);
        Assert.Equal(["a"], afterRemoval.Find("p")!.Children);
        NodeStatus s = afterRemoval.Find("p/s")!;
        Assert.Equal(NodeLifecycle.Removing, s.Lifecycle);
        Assert.True(s.ShutdownRequested);
        Assert.Equal("stopping", s.State);
        Assert.Equal(["a", "s"], status.Find("p")!.Children); // an earlier status never changes.
    }

    [Fact]
    public async Task Status_NothingChanged_SameObject()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("a", "leaf"), Spec("b", "leaf")]);
        h.Redeclare("p", "parent", "v1", ticks: 3);
        RuntimeStatus before = await h.StatusFromOtherThreadAsync();

        // act
        h.Step(5);
        RuntimeStatus unchanged = await h.StatusFromOtherThreadAsync();
        h.Runtime.SetDesiredStateOverride("p/b", "paused");
        h.Step();
        RuntimeStatus changed = await h.StatusFromOtherThreadAsync();

        // assert
        Assert.Same(before, unchanged);
        Assert.Equal(before.Generation, unchanged.Generation);
        Assert.NotSame(before, changed);
        Assert.Equal(before.Generation + 1, changed.Generation);
        Assert.Equal("paused", changed.Find("p/b")!.EffectiveDesiredState);
        Assert.Equal("running", before.Find("p/b")!.EffectiveDesiredState);
    }

    [Fact]
    public async Task Status_StartedRuntime_ReadFromTestThreadWhileTickThreadRuns()
    {
        // arrange: a started runtime on a fake clock; this thread moves the clock and runs the collections.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var scheduler = new ManualObservationScheduler(time);
        var factory = new WorkerFactory();
        var up = new LambdaState("up", static (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self, "serving"));
        var init = new LambdaState("init", (self, in s) =>
            s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(up, "serving"));
        factory.Register<TestObserved, string>("leaf", id => new TestWorker(id) { InitialState = init });
        factory.Register<TestObserved, string>("parent", id => new TestWorker(id) { Children = [Spec("a", "leaf")] });
        var options = new RuntimeOptions { TickInterval = TimeSpan.FromMilliseconds(100), ShutdownBudget = TimeSpan.FromHours(1) };
        await using var runtime = new SupervisorRuntime(factory, options, time, null, scheduler);
        runtime.SetConfiguration([Spec("p", "parent")]);
        runtime.Start();
        try
        {
            // act
            RuntimeStatus? seen = null;
            for (int i = 0; i < 50 && seen?.Find("p/a")?.State != "up"; i++)
            {
                StartedRuntime.TickOnTheTickThread(runtime, scheduler, time);
                seen = runtime.Status;
            }

            // assert
            Assert.NotNull(seen);
            Assert.Equal(["a"], seen.Find("p")!.Children);
            Assert.Equal("up", seen.Find("p/a")!.State);
            Assert.Equal("serving", seen.Find("p/a")!.Reason);
        }
        finally
        {
            Assert.True((await StartedRuntime.DrainAsync(runtime, scheduler, time)).Clean);
        }
    }
}
