using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Reconciliation;

/// <summary>
/// Reconciliation (§8): validation, classification (keep/update, type change, remove, add), creation failures, order
/// and idempotency. A parent re-declares its children when its own config text changes (HarnessTreeExtensions).
/// </summary>
public sealed class ReconcileTests
{
    [Fact]
    [Trait("spec", "C-34")]
    public async Task C34_ParentDeclaresNoChildren_HasNoChildrenAndNoError()
    {
        // arrange
        await using var h = new Harness();
        h.RegisterParent("parent", _ => []);
        h.ConfigureTop("p", "parent", "v1");

        // act
        h.Step(3);

        // assert
        SupervisorNode p = h.Node("p");
        Assert.Equal(3, p.TickCount);
        Assert.Empty(p.ListChildren());
        Assert.Empty(p.ListRemovingChildren());
        Assert.Empty(p.Children);
        Assert.Null(p.LastError);
        Assert.Equal(1, h.Runtime.LiveWorkerCount);
    }

    [Fact]
    [Trait("spec", "C-35")]
    public async Task C35_TopLevelEntryDeclaresChild_ChildCreatedWithIdentityAndDepthInOneTick()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("child1", "leaf")]);
        h.ConfigureTop("p", "parent", "v1");

        // act
        h.Step();

        // assert
        SupervisorNode p = h.Node("p");
        SupervisorNode? child = p.GetChild("child1");
        Assert.NotNull(child);
        Assert.Equal("p/child1", child.Identity.Id);
        Assert.Equal("p/child1", child.Path);
        Assert.Equal("child1", child.Identity.Name);
        Assert.Equal("leaf", child.Identity.WorkerType);
        Assert.Equal("p", child.Identity.ParentId);
        Assert.Equal(2, child.Depth);
        Assert.Equal(1, child.TickCount);
        Assert.Equal("", p.Identity.ParentId);
        Assert.Equal(1, p.Depth);
        Assert.Equal(NodeLifecycle.Active, child.Lifecycle);
    }

    [Fact]
    [Trait("spec", "C-36")]
    public async Task C36_ChildNoLongerDeclared_StartsGracefulRemovalAndLeavesActiveSetAndView()
    {
        // arrange: child2 needs three evaluations to shut down.
        await using var h = new Harness();
        h.Register("leaf");
        h.Register("slow", w => w.InitialState = StatePaths.NewSlowStopper());
        h.RegisterParent("parent", cfg => cfg == "v1"
            ? [Spec("child1", "leaf"), Spec("child2", "slow")]
            : [Spec("child1", "leaf")]);
        h.Redeclare("p", "parent", "v1", ticks: 3);
        SupervisorNode p = h.Node("p");
        SupervisorNode child2 = h.Node("p/child2");
        Assert.Equal(["child1", "child2"], p.ListChildren());
        Assert.Equal("running", p.Children.GetState("child2"));

        // act
        h.Redeclare("p", "parent", "v2");

        // assert
        Assert.Equal(["child1"], p.ListChildren());
        Assert.Equal(["child2"], p.ListRemovingChildren());
        Assert.Null(p.GetChild("child2"));
        Assert.True(child2.ShutdownRequested);
        Assert.Equal(ShutdownReason.RemovedFromSpec, child2.ShutdownReason);
        Assert.Equal(NodeLifecycle.Removing, child2.Lifecycle);
        Assert.False(p.Children.TryGet("child2", out _));
        Assert.Equal(["child1"], p.Children.Select(c => c.Name));
        Assert.Equal("stopping", child2.CurrentStateName);
    }

    [Fact]
    [Trait("spec", "C-37")]
    public async Task C37_SpecChange_UpdatesInPlace()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", cfg => cfg == "v1"
            ? [Spec("child1", "leaf", "state: stopped")]
            : [Spec("child1", "leaf", "state: running")]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode child = h.Node("p").GetChild("child1")!;
        TestWorker worker = h.Worker("p/child1");
        Assert.Equal(1, worker.DeriveCalls);
        Assert.Equal("state: stopped", child.EffectiveDesiredState);

        // act
        h.Redeclare("p", "parent", "v2", ticks: 3);

        // assert
        Assert.Same(child, h.Node("p").GetChild("child1"));
        Assert.Same(worker, h.Worker("p/child1"));
        Assert.Equal(1, h.InstancesCreated("p/child1"));
        Assert.Equal("state: running", child.UserSpec.Config);
        Assert.Equal("state: running", child.EffectiveDesiredState);
        Assert.Equal(2, worker.DeriveCalls);
        Assert.Equal(1, h.EventCount("node_updated", "p/child1"));
        Assert.Equal(5, child.TickCount);
    }

    [Theory]
    [Trait("spec", "C-38")]
    [InlineData(false)]
    [InlineData(true)]
    public async Task C38_MappingChanges_ReplacesMappingAndKeepsInstance(bool toNull)
    {
        // arrange
        var before = new Dictionary<string, string> { ["idle"] = "stopped" };
        Dictionary<string, string>? after = toNull ? null : new Dictionary<string, string> { ["active"] = "running" };
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", cfg => [Spec("child1", "leaf", mapping: cfg == "v1" ? before : after)]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode child = h.Node("p/child1");
        Assert.Equal(before, child.StateMapping);

        // act
        h.Redeclare("p", "parent", "v2");

        // assert
        if (after is null)
        {
            Assert.Null(child.StateMapping);
        }
        else
        {
            Assert.Equal(after, child.StateMapping);
        }

        Assert.Same(child, h.Node("p").GetChild("child1"));
        Assert.Equal(1, h.InstancesCreated("p/child1"));
        Assert.Equal(NodeLifecycle.Active, child.Lifecycle);
    }

    [Fact]
    [Trait("spec", "C-39")]
    public async Task C39_SameDeclarationAgain_KeepsInstancesAndLogsOrCountsNothing()
    {
        // arrange: each derive allocates new, structurally equal specs.
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("a", "leaf", "x"), Spec("b", "leaf", "y", new Dictionary<string, string> { ["running"] = "up" })]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode p = h.Node("p");
        SupervisorNode a = p.GetChild("a")!;
        SupervisorNode b = p.GetChild("b")!;
        int parentDerives = h.Worker("p").DeriveCalls;
        using var operations = new MetricCollector<long>(h.Runtime.Metrics.ReconcileOperations);
        int logged = h.Events("node_added").Count + h.Events("node_updated").Count + h.Events("node_removing").Count;

        // act: a globals change makes every node re-derive, so the parent really re-declares; then plain ticks.
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["site"] = "s1" });
        h.Step(3);

        // assert
        Assert.Equal(parentDerives + 1, h.Worker("p").DeriveCalls);
        Assert.Same(a, p.GetChild("a"));
        Assert.Same(b, p.GetChild("b"));
        Assert.Equal(["a", "b"], p.ListChildren());
        Assert.Equal(logged, h.Events("node_added").Count + h.Events("node_updated").Count + h.Events("node_removing").Count);
        Assert.Empty(operations.GetMeasurementSnapshot());
    }

    [Fact]
    [Trait("spec", "C-40")]
    public async Task C40_UnregisteredType_ChildAbsentErrorOnParentSiblingsAndParentRun()
    {
        // arrange
        await using var h = new Harness();
        LambdaState parentState = TestStates.NewIdle("parent-idle");
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("ok1", "leaf"), Spec("bad", "t"), Spec("ok2", "leaf")], w => w.InitialState = parentState);
        h.ConfigureTop("p", "parent", "v1");

        // act
        Exception? thrown = Record.Exception(() => h.Step(2));

        // assert
        Assert.Null(thrown);
        SupervisorNode p = h.Node("p");
        Assert.Null(p.GetChild("bad"));
        Assert.Null(h.Runtime.FindNode("p/bad"));
        Assert.NotNull(p.LastError);
        Assert.Equal(ErrorSource.Reconcile, p.LastError.Source);
        Assert.Contains("unknown worker type: t", p.LastError.Message, StringComparison.Ordinal);
        Assert.Equal(["ok1", "ok2"], p.ListChildren());
        Assert.Equal(2, h.Node("p/ok1").TickCount);
        Assert.Equal(2, h.Node("p/ok2").TickCount);
        Assert.True(parentState.Calls >= 1, "the parent's Next runs");
        Assert.Equal("", p.Children.GetState("bad"));
    }

    [Fact]
    [Trait("spec", "C-41")]
    public async Task C41_TypeRegisteredLater_ChildCreatedOnNextTick()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("ok", "leaf"), Spec("bad", "t")]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        Assert.Null(h.Node("p").GetChild("bad"));

        // act: no time passes, so only the factory version can trigger the retry.
        h.Register("t");
        h.Step();

        // assert
        SupervisorNode p = h.Node("p");
        SupervisorNode? child = p.GetChild("bad");
        Assert.NotNull(child);
        Assert.Equal(1, child.TickCount);
        Assert.Equal("t", child.WorkerType);
        Assert.Equal(["ok", "bad"], p.ListChildren());
        Assert.Null(p.GetError(ErrorSource.Reconcile));
    }

    [Fact]
    [Trait("spec", "C-42")]
    public async Task C42_ConstructorThrows_LeavesNothingAndRetriesNoEarlierThan1Second()
    {
        // arrange
        await using var h = new Harness();
        int attempts = 0;
        h.Factory.Register<TestObserved, string>("bad", _ =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("ctor failed");
        });
        h.Register("leaf");
        h.RegisterParent("parent", _ => [Spec("x", "bad"), Spec("ok", "leaf")]);
        h.ConfigureTop("p", "parent", "v1");

        // act
        h.Step();

        // assert: nothing left behind.
        Assert.Equal(1, attempts);
        Assert.Null(h.Runtime.FindNode("p/x"));
        Assert.Equal(2, h.Runtime.LiveWorkerCount);
        Assert.DoesNotContain(h.Scheduler.Collectors, c => c.WorkerId == "p/x");
        Assert.Equal(
            "failed to create child 'x': ctor failed",
            h.Node("p").GetError(ErrorSource.Reconcile)?.Message);

        // act: not before 1 s.
        h.Step(3);
        h.AdvanceAndStep(TimeSpan.FromMilliseconds(999));

        // assert
        Assert.Equal(1, attempts);

        // act
        h.AdvanceAndStep(TimeSpan.FromMilliseconds(1));

        // assert
        Assert.Equal(2, attempts);
        Assert.Null(h.Runtime.FindNode("p/x"));
        Assert.NotNull(h.Node("p").GetError(ErrorSource.Reconcile));
    }

    [Fact]
    [Trait("spec", "C-42")]
    public async Task C42_GetInitialStateThrows_LeavesNoNodeRecordOrCollector()
    {
        // arrange
        await using var h = new Harness();
        h.Register("noinit", w => w.InitialState = null!);
        h.RegisterParent("parent", _ => [Spec("x", "noinit")]);
        h.ConfigureTop("p", "parent", "v1");

        // act
        h.Step(2);

        // assert
        Assert.Equal(1, h.InstancesCreated("p/x"));
        Assert.Null(h.Runtime.FindNode("p/x"));
        Assert.Equal(1, h.Runtime.LiveWorkerCount);
        Assert.DoesNotContain(h.Scheduler.Collectors, c => c.WorkerId == "p/x");
        Assert.Contains("failed to create child 'x'", h.Node("p").GetError(ErrorSource.Reconcile)?.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "C-42")]
    public async Task C42_ParentRederivesEqualDeclaration_DoesNotRetryBeforeInterval()
    {
        // arrange
        await using var h = new Harness();
        int attempts = 0;
        h.Factory.Register<TestObserved, string>("bad", _ =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("ctor failed");
        });
        h.RegisterParent("parent", _ => [Spec("x", "bad", "same")]);
        h.Redeclare("p", "parent", "v1");
        Assert.Equal(1, attempts);

        // act: the parent re-derives (globals changed) and re-declares a structurally equal, newly allocated spec.
        h.Time.Advance(TimeSpan.FromMilliseconds(500));
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        h.Step();

        // assert
        Assert.Equal(2, h.Worker("p").DeriveCalls);
        Assert.Equal(1, attempts);

        // act
        h.AdvanceAndStep(TimeSpan.FromMilliseconds(500));

        // assert
        Assert.Equal(2, attempts);
    }

    [Fact]
    [Trait("spec", "C-42")]
    public async Task C42_DeclarationChanges_RetriesCreationAtOnce()
    {
        // arrange
        await using var h = new Harness();
        int attempts = 0;
        h.Factory.Register<TestObserved, string>("bad", _ =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("ctor failed");
        });
        h.RegisterParent("parent", cfg => [Spec("x", "bad", cfg)]);
        h.Redeclare("p", "parent", "v1");
        Assert.Equal(1, attempts);

        // act: the child's spec changes structurally, without any time passing.
        h.Redeclare("p", "parent", "v2");

        // assert
        Assert.Equal(2, attempts);
    }

    [Fact]
    [Trait("spec", "C-43")]
    public async Task C43_DuplicateNames_DeriveFailsAndNothingChanges()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", cfg => cfg == "v1"
            ? [Spec("a", "leaf", "a1"), Spec("b", "leaf")]
            : [Spec("a", "leaf", "a2"), Spec("dup", "leaf"), Spec("dup", "leaf")]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode p = h.Node("p");
        SupervisorNode a = p.GetChild("a")!;
        SupervisorNode b = p.GetChild("b")!;
        int added = h.Events("node_added").Count;

        // act
        h.Redeclare("p", "parent", "v2");

        // assert
        NodeError? error = p.GetError(ErrorSource.Derive);
        Assert.NotNull(error);
        Assert.Equal("duplicate child name: dup", error.Message);
        Assert.Equal(["a", "b"], p.ListChildren());
        Assert.Empty(p.ListRemovingChildren());
        Assert.Same(a, p.GetChild("a"));
        Assert.Same(b, p.GetChild("b"));
        Assert.Equal("a1", a.UserSpec.Config);
        Assert.Equal(added, h.Events("node_added").Count);
        Assert.Equal(0, h.EventCount("node_updated", "p/a"));
        Assert.Empty(h.Events("node_removing"));
        Assert.Null(h.Runtime.FindNode("p/dup"));
    }

    [Theory]
    [Trait("spec", "C-44")]
    [InlineData("empty-name")]
    [InlineData("slash-in-name")]
    [InlineData("empty-type")]
    [InlineData("empty-mapping-value")]
    public async Task C44_InvalidSpecAtIndex1_DeriveFailsWithIndexedMessageAndChildrenUntouched(string defect)
    {
        // arrange
        ChildSpec invalid = defect switch
        {
            "empty-name" => Spec("", "leaf"),
            "slash-in-name" => Spec("a/b", "leaf"),
            "empty-type" => Spec("x", ""),
            _ => Spec("x", "leaf", mapping: new Dictionary<string, string> { ["running"] = "" }),
        };
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", cfg => cfg == "v1" ? [Spec("a", "leaf", "a1")] : [Spec("a", "leaf", "a2"), invalid]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode p = h.Node("p");
        SupervisorNode a = p.GetChild("a")!;

        // act
        h.Redeclare("p", "parent", "v2");

        // assert
        NodeError? error = p.GetError(ErrorSource.Derive);
        Assert.NotNull(error);
        Assert.StartsWith("ChildSpec[1]:", error.Message, StringComparison.Ordinal);
        Assert.Equal(["a"], p.ListChildren());
        Assert.Same(a, p.GetChild("a"));
        Assert.Equal("a1", a.UserSpec.Config);
        Assert.Equal(2, h.Runtime.LiveWorkerCount);
        Assert.Empty(h.Events("node_removing"));
    }

    [Fact]
    [Trait("spec", "C-46")]
    public async Task C46_Rename_RemovesOldAndCreatesNewInstanceInInitialState()
    {
        // arrange: the initial state "init" moves to "up" on its first evaluation.
        var up = new LambdaState("up", static (self, in s) => s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self));
        var init = new LambdaState("init", (self, in s) => s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(up));
        await using var h = new Harness();
        h.Register("leaf", w => w.InitialState = init);
        h.RegisterParent("parent", cfg => [Spec(cfg == "v1" ? "old" : "new", "leaf", "cfg")]);
        h.Redeclare("p", "parent", "v1", ticks: 3);
        SupervisorNode old = h.Node("p/old");
        TestWorker oldWorker = h.Worker("p/old");
        Assert.Equal("up", old.CurrentStateName);

        // act
        h.Redeclare("p", "parent", "v2");

        // assert
        SupervisorNode p = h.Node("p");
        Assert.Equal(["new"], p.ListChildren());
        Assert.Null(h.Runtime.FindNode("p/old"));
        Assert.NotEqual(NodeLifecycle.Active, old.Lifecycle);
        Assert.Equal(1, h.EventCount("node_removing", "p/old"));
        SupervisorNode created = h.Node("p/new");
        Assert.NotSame(old, created);
        Assert.NotSame(oldWorker, h.Worker("p/new"));
        Assert.Equal("init", created.CurrentStateName);
        Assert.Equal(1, created.TickCount);
        Assert.Equal(0, created.Incarnation);
        Assert.Equal("p/new", created.Identity.Id);
        Assert.Equal(1, h.EventCount("node_added", "p/new"));
    }

    [Fact]
    [Trait("spec", "C-47")]
    public async Task C47_DeclarationOrder_DrivesTickingListingAndViewOrder()
    {
        // arrange
        List<string> evaluated = [];
        LambdaState recorder = StatePaths.NewRecorder(evaluated);
        await using var h = new Harness();
        h.Register("leaf", w => w.InitialState = recorder);
        h.RegisterParent("parent", cfg => cfg == "v1"
            ? [Spec("c3", "leaf"), Spec("c1", "leaf"), Spec("c2", "leaf")]
            : [Spec("c1", "leaf"), Spec("c2", "leaf"), Spec("c3", "leaf")]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode p = h.Node("p");

        // act
        Clear(evaluated);
        h.Step();

        // assert
        Assert.Equal(["c3", "c1", "c2"], Snapshot(evaluated));
        Assert.Equal(["c3", "c1", "c2"], p.ListChildren());
        Assert.Equal(["c3", "c1", "c2"], p.Children.Select(c => c.Name));
        Assert.Equal(["c3", "c1", "c2"], h.Runtime.Status.Find("p")!.Children);

        // act
        Clear(evaluated);
        h.Redeclare("p", "parent", "v2");

        // assert
        Assert.Equal(["c1", "c2", "c3"], Snapshot(evaluated));
        Assert.Equal(["c1", "c2", "c3"], p.ListChildren());
        Assert.Equal(["c1", "c2", "c3"], p.Children.Select(c => c.Name));
        Assert.Equal(["c1", "c2", "c3"], h.Runtime.Status.Find("p")!.Children);
        Assert.Equal(3, h.Events("node_added").Count(r => r.GetStructuredStateValue("Node")!.StartsWith("p/", StringComparison.Ordinal)));

        static void Clear(List<string> log)
        {
            lock (log)
            {
                log.Clear();
            }
        }

        static List<string> Snapshot(List<string> log)
        {
            lock (log)
            {
                return [.. log];
            }
        }
    }

    [Fact]
    [Trait("spec", "C-48")]
    public async Task C48_DeriveReturnsNullChildren_RemovesAllChildren()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", cfg => cfg == "v1" ? [Spec("a", "leaf"), Spec("b", "leaf")] : null);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode a = h.Node("p/a");
        SupervisorNode b = h.Node("p/b");

        // act
        h.Redeclare("p", "parent", "v2");

        // assert
        SupervisorNode p = h.Node("p");
        Assert.Empty(p.ListChildren());
        Assert.Empty(p.Children);
        Assert.True(a.ShutdownRequested);
        Assert.True(b.ShutdownRequested);
        Assert.NotEqual(NodeLifecycle.Active, a.Lifecycle);
        Assert.NotEqual(NodeLifecycle.Active, b.Lifecycle);
        Assert.Null(p.GetError(ErrorSource.Derive));
        h.Step();
        Assert.Equal(1, h.Runtime.LiveWorkerCount);
    }

    [Fact]
    [Trait("spec", "C-50")]
    public async Task C50_DeriveFailedAfterSuccess_KeepsLastGoodDeclarationWithoutRederiving()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.Register("parent", w => w.OnDerive = spec => spec.Config == "bad"
            ? throw new FormatException("config broken")
            : new DerivedState<string>("running", spec.Config, [Spec("a", "leaf")]));
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode p = h.Node("p");
        SupervisorNode a = h.Node("p/a");
        TestWorker parent = h.Worker("p");
        h.Redeclare("p", "parent", "bad");
        Assert.Equal(2, parent.DeriveCalls);
        Assert.Equal("config broken", p.GetError(ErrorSource.Derive)?.Message);
        long childTicks = a.TickCount;

        // act
        h.Step(3);

        // assert
        Assert.Equal(2, parent.DeriveCalls);
        Assert.Equal(childTicks + 3, a.TickCount);
        Assert.Same(a, p.GetChild("a"));
        Assert.Equal(["a"], p.ListChildren());
        Assert.Equal("config broken", p.GetError(ErrorSource.Derive)?.Message);
        Assert.Equal(1, h.EventCount("derive_failed", "p"));

        // act: a derive that succeeds clears the error.
        h.Redeclare("p", "parent", "v2");

        // assert
        Assert.Equal(3, parent.DeriveCalls);
        Assert.Null(p.GetError(ErrorSource.Derive));
        Assert.Same(a, p.GetChild("a"));
    }

    [Fact]
    public async Task Reconcile_TypeChange_ReplacesOnceTheOldNodeIsFinalized()
    {
        // arrange: the old node needs three evaluations to shut down.
        await using var h = new Harness();
        h.Register("typeA", w => w.InitialState = StatePaths.NewSlowStopper());
        h.Register("typeB");
        h.RegisterParent("parent", cfg => [Spec("x", cfg == "v1" ? "typeA" : "typeB")]);
        h.Redeclare("p", "parent", "v1", ticks: 2);
        SupervisorNode p = h.Node("p");
        SupervisorNode old = h.Node("p/x");
        using var operations = new MetricCollector<long>(h.Runtime.Metrics.ReconcileOperations);

        // act
        h.Redeclare("p", "parent", "v2");

        // assert: the old node is removed with TypeChanged and the name stays reserved.
        Assert.Equal(1, h.EventCount("node_replaced", "p/x"));
        Assert.Equal(ShutdownReason.TypeChanged, old.ShutdownReason);
        Assert.Equal(NodeLifecycle.Removing, old.Lifecycle);
        Assert.Null(p.GetChild("x"));
        Assert.Equal("", p.Children.GetState("x"));
        Assert.Null(p.GetError(ErrorSource.Reconcile));

        // act: tick until the new node exists; never two nodes with one name.
        SupervisorNode? replacement = null;
        for (int i = 0; i < 5 && replacement is null; i++)
        {
            h.Step();
            replacement = p.GetChild("x");
            Assert.True(replacement is null || old.Lifecycle == NodeLifecycle.Finalized, "a name is never held by two nodes");
        }

        // assert
        Assert.NotNull(replacement);
        Assert.NotSame(old, replacement);
        Assert.Equal("typeB", replacement.WorkerType);
        Assert.Equal(NodeLifecycle.Finalized, old.Lifecycle);
        Assert.Same(replacement, h.Runtime.FindNode("p/x"));
        IReadOnlyList<CollectedMeasurement<long>> measured = operations.GetMeasurementSnapshot();
        Assert.Single(measured, m => m.Tags["operation"] as string == "remove");
        Assert.Single(measured, m => m.Tags["operation"] as string == "replace");
        Assert.DoesNotContain(measured, m => m.Tags["operation"] as string == "add");
    }
}
