using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>
/// §4.5 / §11.1: exceptions from user code (derive, Next, collection, worker constructor, GetInitialState) are
/// contained where they happen. TickOnce goes on, the error is visible with the worker id, siblings are unaffected.
/// (Actions that throw: ChannelActionExecutorTests.)
/// </summary>
public sealed class ErrorContainmentTests
{
    /// <summary>A harness with a healthy top-level sibling "ok" next to the entries of the test.</summary>
    private static Harness CreateWithHealthySibling(out LambdaState siblingState)
    {
        var harness = new Harness();
        LambdaState sibling = TestStates.NewIdle("ok-idle");
        harness.Register("ok", w => w.InitialState = sibling);
        siblingState = sibling;
        return harness;
    }

    [Fact]
    public async Task Tick_DeriveThrows_DeriveErrorOnThatNodeAndSiblingRuns()
    {
        // arrange
        await using Harness harness = CreateWithHealthySibling(out LambdaState sibling);
        harness.Register("bad", w => w.OnDerive = _ => throw new FormatException("line 3: unexpected token"));
        harness.Configure(Harness.Spec("bad", "bad"), Harness.Spec("ok", "ok"));

        // act
        harness.Step(3);

        // assert
        NodeError? error = harness.Node("bad").GetError(ErrorSource.Derive);
        Assert.NotNull(error);
        Assert.Contains("line 3: unexpected token", error.Message, StringComparison.Ordinal);
        Assert.Equal("bad", harness.Runtime.Status.Find("bad")?.Path);
        Assert.Equal(ErrorSource.Derive, harness.Runtime.Status.Find("bad")?.LastError?.Source);
        Assert.Single(harness.Events("derive_failed"), r => r.Node() == "bad" && r.Level == LogLevel.Warning);
        Assert.Equal(2, sibling.Calls);
        Assert.Null(harness.Node("ok").LastError);
        Assert.Equal(3, harness.Runtime.TickCount);
    }

    [Fact]
    public async Task Tick_NextThrows_EvaluateErrorWithWorkerIdAndSiblingRuns()
    {
        // arrange
        await using Harness harness = CreateWithHealthySibling(out LambdaState sibling);
        var throwing = new LambdaState("throwing", (self, in s) => throw new InvalidOperationException("boom"));
        harness.Register("bad", w => w.InitialState = throwing);
        harness.Configure(Harness.Spec("bad", "bad"), Harness.Spec("ok", "ok"));

        // act
        harness.Step(4);

        // assert
        Assert.Equal(3, throwing.Calls);
        Assert.Equal(ErrorSource.Evaluate, harness.Node("bad").LastError?.Source);
        Assert.Equal(3, harness.Events("tick_panic").Count(r => r.Node() == "bad" && r.Level == LogLevel.Error));
        Assert.Equal(3, sibling.Calls);
        Assert.Equal(NodeLifecycle.Active, harness.Node("bad").Lifecycle);
    }

    [Fact]
    public async Task Tick_NextStopsThrowing_EvaluateErrorCleared()
    {
        // arrange: Next throws once.
        int calls = 0;
        var flaky = new LambdaState("flaky", (self, in s) =>
            Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("once") : Transition.To(self));
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = flaky);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(2);
        Assert.NotNull(harness.Node("w").GetError(ErrorSource.Evaluate));

        // act
        harness.Step();

        // assert
        Assert.Null(harness.Node("w").GetError(ErrorSource.Evaluate));
        Assert.Null(harness.Node("w").LastError);
    }

    [Fact]
    public async Task Tick_CollectionThrows_FailureLoggedWithWorkerIdAndSiblingRuns()
    {
        // arrange
        await using Harness harness = CreateWithHealthySibling(out LambdaState sibling);
        LambdaState badState = TestStates.NewIdle("bad-idle");
        harness.Register("bad", w =>
        {
            w.InitialState = badState;
            w.OnCollect = (_, _) => throw new IOException("device unreachable");
        });
        harness.Configure(Harness.Spec("bad", "bad"), Harness.Spec("ok", "ok"));

        // act
        harness.Step();
        harness.AdvanceAndStep(TimeSpan.FromSeconds(1), ticks: 3);

        // assert
        Assert.True(harness.Node("bad").Collector!.Failures >= 3);
        Assert.Contains(harness.Events("collection_failed"), r => r.Node() == "bad" && r.Field("Message") == "device unreachable");
        Assert.Equal(0, badState.Calls);
        Assert.Equal(3, sibling.Calls);
        Assert.Null(harness.Node("bad").GetError(ErrorSource.Evaluate));
    }

    [Theory]
    [InlineData("constructor")]
    [InlineData("initial-state")]
    public async Task Tick_WorkerCreationThrows_ReconcileErrorOnParentNamingChildAndSiblingCreated(string failing)
    {
        // arrange
        await using Harness harness = CreateWithHealthySibling(out LambdaState sibling);
        if (failing == "constructor")
        {
            harness.Factory.Register<TestObserved, string>("bad", _ => throw new InvalidOperationException("no license"));
        }
        else
        {
            harness.Factory.Register<TestObserved, string>("bad", id => new ThrowingInitialStateWorker(id));
        }

        harness.Configure(Harness.Spec("bad", "bad"), Harness.Spec("ok", "ok"));

        // act
        harness.Step(3);

        // assert
        SupervisorNode root = harness.Runtime.Root;
        NodeError? error = root.GetError(ErrorSource.Reconcile);
        Assert.NotNull(error);
        Assert.StartsWith("failed to create child 'bad': ", error.Message, StringComparison.Ordinal);
        Assert.Contains("no license", error.Message, StringComparison.Ordinal);
        Assert.Null(harness.Runtime.FindNode("bad"));
        Assert.Equal(["ok"], root.ListChildren());
        Assert.Equal(1, harness.Runtime.LiveWorkerCount);
        Assert.DoesNotContain(harness.Scheduler.Collectors, c => c.WorkerId == "bad");
        Assert.Contains(harness.Events("child_create_failed"), r => r.Field("Child") == "bad" && r.Level == LogLevel.Error);
        Assert.Equal(2, sibling.Calls);
    }

    private sealed class ThrowingInitialStateWorker(Identity identity) : IWorker<TestObserved, string>
    {
        public Identity Identity { get; } = identity;

        public ValueTask<TestObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken)
            => ValueTask.FromResult(new TestObserved(0));

        public DerivedState<string> DeriveDesiredState(UserSpec spec) => new("running", spec.Config);

        public IState<TestObserved, string> GetInitialState() => throw new InvalidOperationException("no license");
    }
}
