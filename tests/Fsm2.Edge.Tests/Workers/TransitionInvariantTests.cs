using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Tests.Workers;

/// <summary>
/// The rules of <see cref="Transition{TObserved, TDesired}"/> as the node applies them (§2.7): what is applied, and which
/// results are invariant violations that propagate out of the tick with nothing applied. Also the read-only guarantee
/// of what a state and a derive can reach (§2.6).
/// </summary>
public sealed class TransitionInvariantTests
{
    /// <summary>A harness with one top-level worker "w" in <paramref name="initial"/>, created and (after one more tick) observed.</summary>
    private static Harness CreateWithWorker(IState<TestObserved, string> initial)
    {
        var harness = new Harness();
        harness.Register("t", w => w.InitialState = initial);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(); // creates "w"; its collector starts, so the next Step collects before the tick
        return harness;
    }

    [Fact]
    [Trait("spec", "C-08")]
    public async Task C08_DifferentStateWithAction_ThrowsInvariantViolation()
    {
        // arrange
        var action = new TestAction();
        LambdaState other = TestStates.NewIdle("other");
        var start = new LambdaState("start", (self, in s) => new Transition<TestObserved, string>(other, Signal.None, action));
        await using Harness harness = CreateWithWorker(start);
        SupervisorNode node = harness.Node("w");

        // act
        InvariantViolationException ex = Assert.Throws<InvariantViolationException>(() => harness.Step());

        // assert
        Assert.Equal(1, start.Calls);
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Equal("start", node.CurrentStateName);
        Assert.False(node.ActionSlot.InFlight);
        Assert.Equal(0, node.ActionSlot.Generation);
        Assert.Equal(0, action.Starts);
        Assert.Empty(harness.Events("state_transition"));
    }

    [Fact]
    [Trait("spec", "C-10")]
    public async Task C10_NewStateWithReason_StateAndReasonRecordedAndOneTransitionLogged()
    {
        // arrange
        var waiting = new LambdaState("waiting", (self, in s) => Transition.To(self, "waiting for port"));
        var start = new LambdaState("start", (self, in s) => Transition.To(waiting, "waiting for port"));
        await using Harness harness = CreateWithWorker(start);
        SupervisorNode node = harness.Node("w");

        // act
        harness.Step();
        string stateAfterFirst = node.CurrentStateName;
        string reasonAfterFirst = node.Reason;
        harness.Step(3);

        // assert
        Assert.Equal("waiting", stateAfterFirst);
        Assert.Equal("waiting for port", reasonAfterFirst);
        Assert.Equal("waiting", node.CurrentStateName);
        Assert.Equal("waiting for port", node.Reason);
        FakeLogRecord transition = Assert.Single(harness.Events("state_transition"));
        Assert.Equal("w", transition.Node());
        Assert.Equal("start", transition.Field("From"));
        Assert.Equal("waiting", transition.Field("To"));
        Assert.Equal("waiting for port", transition.Field("Reason"));
        Assert.Equal("waiting", harness.Runtime.Status.Find("w")?.State);
    }

    public static TheoryData<string> InvalidTransitions => ["NeedsRemovalWithAction", "NeedsRestartWithAction", "UndefinedSignal", "NullNextState"];

    [Theory]
    [MemberData(nameof(InvalidTransitions))]
    [Trait("spec", "C-11")]
    public async Task C11_InvalidTransition_ThrowsInvariantViolationAndAppliesNothing(string kind)
    {
        // arrange
        var action = new TestAction();
        var start = new LambdaState("start", (self, in s) => kind switch
        {
            "NeedsRemovalWithAction" => new Transition<TestObserved, string>(self, Signal.NeedsRemoval, action),
            "NeedsRestartWithAction" => new Transition<TestObserved, string>(self, Signal.NeedsRestart, action),
            "UndefinedSignal" => new Transition<TestObserved, string>(self, (Signal)3),
            _ => new Transition<TestObserved, string>(null!),
        });
        await using Harness harness = CreateWithWorker(start);
        SupervisorNode node = harness.Node("w");

        // act
        Assert.Throws<InvariantViolationException>(() => harness.Step());

        // assert
        Assert.Equal(1, start.Calls);
        Assert.Equal("start", node.CurrentStateName);
        Assert.False(node.ShutdownRequested);
        Assert.False(node.WorkerDone);
        Assert.False(node.ActionSlot.InFlight);
        Assert.Equal(0, action.Starts);
    }

    [Fact]
    [Trait("spec", "C-11")]
    public async Task Tick_SignalValidWithoutAction_IsNotAnInvariantViolation()
    {
        // arrange: the counterpart of C-11: NeedsRestart alone is legal and processed.
        var start = new LambdaState("start", (self, in s) =>
            s.ShutdownRequested ? Transition.To(self) : Transition.Emit(self, Signal.NeedsRestart));
        await using Harness harness = CreateWithWorker(start);

        // act
        harness.Step();

        // assert
        Assert.True(harness.Node("w").ShutdownRequested);
        Assert.Equal(ShutdownReason.RestartRequested, harness.Node("w").ShutdownReason);
    }

    [Fact]
    [Trait("spec", "C-13")]
    public async Task C13_StateCastsChildrenViewToMutableInterface_ThrowsNotSupportedAndViewUnchanged()
    {
        // arrange: "p" declares child "c"; p's state tries every mutating member of the mutable collection interfaces.
        var thrown = new List<Exception>();
        var parentState = new LambdaState("parent", (self, in s) =>
        {
            if (s.Children.Count > 0)
            {
                // Through IEnumerable, as a general-purpose helper would receive it: the cast is decided at run time.
                IEnumerable<ChildInfo> children = s.Children;
                var list = (IList<ChildInfo>)children;
                var collection = (ICollection<ChildInfo>)children;
                var extra = new ChildInfo("x", "t", "s", "");
                Attempt(() => list.Add(extra));
                Attempt(() => list.Insert(0, extra));
                Attempt(() => list[0] = extra);
                Attempt(() => list.RemoveAt(0));
                Attempt(() => collection.Clear());
                Attempt(() => collection.Remove(list[0]));
            }

            return Transition.To(self);
        });

        void Attempt(Action mutate)
        {
            try
            {
                mutate();
                thrown.Add(new InvalidOperationException("the mutation succeeded"));
            }
            catch (Exception ex)
            {
                thrown.Add(ex);
            }
        }

        await using var harness = new Harness();
        harness.Register("parent", w =>
        {
            w.InitialState = parentState;
            w.Children = [Harness.Spec("c", "leaf")];
        });
        harness.Register("leaf", w => w.InitialState = TestStates.NewIdle("leaf-idle"));
        harness.Configure(Harness.Spec("p", "parent"));

        // act
        harness.Step(2);

        // assert
        Assert.NotEmpty(thrown);
        Assert.All(thrown, ex => Assert.IsType<NotSupportedException>(ex));
        ChildrenView view = harness.Node("p").Children;
        Assert.Single(view);
        Assert.Equal("c", view[0].Name);
        Assert.Equal("leaf-idle", view.GetState("c"));
        Assert.Null(harness.Node("p").GetError(ErrorSource.Evaluate));
    }

    [Fact]
    [Trait("spec", "C-13")]
    public async Task C13_DeriveCastsVariableMapsToMutableInterface_ThrowsNotSupportedAndSpecUnchanged()
    {
        // arrange: User variables with a nested map; derive tries to write into User, nested User, Global and Internal.
        var thrown = new List<Exception>();
        var source = new Dictionary<string, object?>
        {
            ["a"] = "1",
            ["nested"] = new Dictionary<string, object?> { ["x"] = "y" },
        };
        var spec = new ChildSpec("w", "t", new UserSpec("running", new VariableBundle(source)));

        void Attempt(Action mutate)
        {
            try
            {
                mutate();
                thrown.Add(new InvalidOperationException("the mutation succeeded"));
            }
            catch (Exception ex)
            {
                thrown.Add(ex);
            }
        }

        await using var harness = new Harness();
        harness.Register("t", w => w.OnDerive = injected =>
        {
            Attempt(() => ((IDictionary<string, object?>)injected.Variables.User).Add("b", "2"));
            Attempt(() => ((IDictionary<string, object?>)injected.Variables.User)["a"] = "changed");
            Attempt(() => ((IDictionary<string, object?>)injected.Variables.User["nested"]!)["x"] = "changed");
            Attempt(() => ((IDictionary<string, object?>)injected.Variables.Global!).Add("g", "1"));
            Attempt(() => ((IDictionary<string, object?>)injected.Variables.Internal!)["id"] = "someone-else");
            return new DerivedState<string>("running", injected.Config);
        });
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        harness.Configure(spec);

        // act
        harness.Step();
        source["a"] = "mutated by the caller after handing the spec over";

        // assert
        Assert.Equal(5, thrown.Count);
        Assert.All(thrown, ex => Assert.IsType<NotSupportedException>(ex));
        SupervisorNode node = harness.Node("w");
        Assert.Equal(2, node.UserSpec.Variables.User.Count);
        Assert.Equal("1", node.UserSpec.Variables.User["a"]);
        Assert.Equal("y", ((IReadOnlyDictionary<string, object?>)node.UserSpec.Variables.User["nested"]!)["x"]);
        UserSpec? injectedSpec = harness.Workers["w"].LastDerivedSpec;
        Assert.NotNull(injectedSpec);
        Assert.Equal("1", injectedSpec.Variables.User["a"]);
        Assert.Equal("w", injectedSpec.Variables.Internal!["id"]);
        Assert.Equal("v", Assert.Single(injectedSpec.Variables.Global!).Value);
        Assert.Null(node.GetError(ErrorSource.Derive));
    }
}
