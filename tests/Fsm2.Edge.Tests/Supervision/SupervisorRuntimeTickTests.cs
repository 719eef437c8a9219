using System.Collections.Concurrent;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>
/// The runtime tick (§3.3, §3.4, §4): evaluation order and isolation, the tick thread, manual mode, cancellation,
/// derive memoization, and invariant violations.
/// </summary>
public sealed class SupervisorRuntimeTickTests
{
    private static DerivedState<string> Running(UserSpec spec, IReadOnlyList<ChildSpec>? children = null)
        => new(spec.Config.Length == 0 ? "running" : spec.Config, spec.Config, children);

    [Fact]
    [Trait("spec", "C-12")]
    public async Task C12_ChildNextThrows_ChildKeepsStateWithEvaluateErrorAndOthersAreEvaluated()
    {
        // arrange: "p" declares "bad" (Next throws) and "good".
        var badState = new LambdaState("bad-initial", (self, in s) => throw new InvalidOperationException("boom"));
        LambdaState goodState = TestStates.NewIdle("good-idle");
        LambdaState parentState = TestStates.NewIdle("parent-idle");
        await using var harness = new Harness();
        harness.Register("parent", w =>
        {
            w.InitialState = parentState;
            w.Children = [Harness.Spec("bad", "bad"), Harness.Spec("good", "good")];
        });
        harness.Register("bad", w => w.InitialState = badState);
        harness.Register("good", w => w.InitialState = goodState);
        harness.Configure(Harness.Spec("p", "parent"));
        harness.Step();

        // act
        harness.Step();
        harness.Step();

        // assert
        SupervisorNode bad = harness.Node("p/bad");
        Assert.Equal(2, badState.Calls);
        Assert.Equal("bad-initial", bad.CurrentStateName);
        Assert.NotNull(bad.LastError);
        Assert.Equal(ErrorSource.Evaluate, bad.LastError.Source);
        Assert.Contains("boom", bad.LastError.Message, StringComparison.Ordinal);
        Assert.Equal(NodeLifecycle.Active, bad.Lifecycle);
        Assert.Contains(harness.Events("tick_panic"), r => r.Node() == "p/bad");
        Assert.Equal(2, goodState.Calls);
        Assert.Equal(2, parentState.Calls);
        Assert.Null(harness.Node("p/good").LastError);
        Assert.Null(harness.Node("p").LastError);
        Assert.Equal(["bad", "good"], harness.Node("p").ListChildren());
    }

    [Fact]
    [Trait("spec", "C-14")]
    public async Task C14_RestartRequestedWorker_SpecAndGlobalsChange_DeriveNotInvokedAndFlagStays()
    {
        // arrange: "w" asks for a restart, then never finishes shutting down (restart fallback only after 30 s).
        var stopping = TestStates.NewStubborn("stopping");
        var running = new LambdaState("running", (self, in s) =>
            s.ShutdownRequested ? Transition.To(stopping) : Transition.Emit(self, Signal.NeedsRestart));
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = running);
        harness.Configure(Harness.Spec("w", "t", "cfg-1"));
        harness.Step(2);
        SupervisorNode node = harness.Node("w");
        TestWorker worker = harness.Workers["w"];
        Assert.True(node.ShutdownRequested);
        Assert.Equal(1, worker.DeriveCalls);

        // act
        harness.Configure(Harness.Spec("w", "t", "cfg-2"));
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        var flags = new List<bool>();
        for (int i = 0; i < 25; i++)
        {
            harness.AdvanceAndStep(TimeSpan.FromSeconds(1));
            flags.Add(node.ShutdownRequested && ((DesiredState<string>)node.Desired!).ShutdownRequested);
        }

        // assert
        Assert.Equal(1, worker.DeriveCalls);
        Assert.Equal("cfg-2", node.UserSpec.Config);
        Assert.All(flags, Assert.True);
        Assert.Equal("stopping", node.CurrentStateName);
    }

    [Fact]
    [Trait("spec", "C-14")]
    public async Task C14_RemovingWorker_GlobalsChange_DeriveNotInvokedAndFlagStaysUntilFinalized()
    {
        // arrange: "w" never finishes shutting down, so its removal runs until RemovalTimeout (30 s).
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = TestStates.NewStubborn("stubborn"));
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(2);
        SupervisorNode node = harness.Node("w");
        TestWorker worker = harness.Workers["w"];
        harness.Configure();
        harness.Step();
        Assert.Equal(NodeLifecycle.Removing, node.Lifecycle);

        // act
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        var flags = new List<bool>();
        while (node.Lifecycle != NodeLifecycle.Finalized && flags.Count < 40)
        {
            flags.Add(node.ShutdownRequested && ((DesiredState<string>)node.Desired!).ShutdownRequested);
            harness.AdvanceAndStep(TimeSpan.FromSeconds(1));
        }

        // assert
        Assert.Equal(1, worker.DeriveCalls);
        Assert.Equal(NodeLifecycle.Finalized, node.Lifecycle);
        Assert.Equal(30, flags.Count);
        Assert.All(flags, Assert.True);
        Assert.True(node.ShutdownRequested);
    }

    [Fact]
    [Trait("spec", "C-15")]
    public async Task C15_StartedRuntime_DeriveMappingAndNextRunOnOneDedicatedThread()
    {
        // arrange: "p" declares a mapped child "c"; "q" is a leaf. Every derive and Next records its thread.
        var calls = new ConcurrentBag<(int Id, string? Name, bool Pool)>();
        void Record() => calls.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread));

        LambdaState NewRecordingState(string name) => new(name, (self, in s) =>
        {
            Record();
            return s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self);
        });

        LambdaState parentState = NewRecordingState("parent");
        LambdaState leafState = NewRecordingState("leaf");
        var mapping = new Dictionary<string, string> { ["running"] = "active" };
        await using var harness = new Harness();
        harness.Register("parent", w =>
        {
            w.InitialState = parentState;
            w.OnDerive = spec =>
            {
                Record();
                return Running(spec, [Harness.Spec("c", "leaf", mapping: mapping)]);
            };
        });
        harness.Register("leaf", w =>
        {
            w.InitialState = leafState;
            w.OnDerive = spec =>
            {
                Record();
                return Running(spec);
            };
        });
        harness.Configure(Harness.Spec("p", "parent"), Harness.Spec("q", "leaf"));
        harness.Runtime.Start();

        // act: 100 ticks; a globals change half way makes every node derive again.
        harness.TickOnTickThread(50);
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        harness.TickOnTickThread(50);

        // assert
        Assert.True(harness.Runtime.TickCount >= 100);
        Assert.True(parentState.Calls > 0 && leafState.Calls > 0, "Next ran");
        Assert.Equal(2, harness.Workers["p"].DeriveCalls);
        Assert.Equal(2, harness.Workers["p/c"].DeriveCalls);
        Assert.Equal("active", harness.Runtime.Status.Find("p/c")?.EffectiveDesiredState);
        var threads = calls.Select(c => c.Id).Distinct().ToList();
        Assert.Single(threads);
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads[0]);
        Assert.All(calls, c => Assert.False(c.Pool));
        Assert.All(calls, c => Assert.Equal("fsm2-tick", c.Name));
        ShutdownResult result = await harness.ShutdownStartedAsync();
        Assert.True(result.Clean);
    }

    [Fact]
    [Trait("spec", "C-16")]
    public async Task C16_StartedRuntime_TickOnceFromOtherThreadOrFromDerive_ThrowsAndDoesNothing()
    {
        // arrange
        Exception? fromDerive = null;
        bool reenter = false;
        await using var harness = new Harness();
        harness.Register("t", w =>
        {
            w.InitialState = TestStates.NewIdle();
            w.OnDerive = spec =>
            {
                if (Volatile.Read(ref reenter))
                {
                    try
                    {
                        harness.Runtime.TickOnce();
                    }
                    catch (Exception ex)
                    {
                        fromDerive = ex;
                        throw;
                    }
                }

                return Running(spec);
            };
        });
        harness.Configure(Harness.Spec("w", "t"));
        harness.Runtime.Start();
        harness.TickOnTickThread(3);
        TestWorker worker = harness.Workers["w"];
        Assert.Equal(1, worker.DeriveCalls);

        // act 1: a pending globals change would make "w" derive if this call ticked.
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "1" });
        InvalidOperationException fromTestThread = Assert.Throws<InvalidOperationException>(() => harness.Runtime.TickOnce());
        int deriveCallsAfterRejectedTick = worker.DeriveCalls;

        // act 2: the tick thread applies the change; the derive it triggers calls TickOnce re-entrantly.
        Volatile.Write(ref reenter, true);
        harness.TickOnTickThread(2);

        // assert
        Assert.NotNull(fromTestThread);
        Assert.Equal(1, deriveCallsAfterRejectedTick);
        Assert.IsType<InvalidOperationException>(fromDerive);
        Assert.Equal(2, worker.DeriveCalls);
        NodeError? error = harness.Runtime.Status.Find("w")?.LastError;
        Assert.NotNull(error);
        Assert.Equal(ErrorSource.Derive, error.Source);
        Assert.False(harness.Runtime.Completion.IsCompleted);
        ShutdownResult result = await harness.ShutdownStartedAsync();
        Assert.True(result.Clean);
    }

    [Fact]
    [Trait("spec", "C-16")]
    public async Task C16_ManualTickOnceFromInsideDerive_ContainedAsThatNodesDeriveFailure()
    {
        // arrange
        Exception? fromDerive = null;
        await using var harness = new Harness();
        harness.Register("reentrant", w => w.OnDerive = spec =>
        {
            try
            {
                harness.Runtime.TickOnce();
            }
            catch (Exception ex)
            {
                fromDerive = ex;
                throw;
            }

            return Running(spec);
        });
        LambdaState siblingState = TestStates.NewIdle("sibling");
        harness.Register("t", w => w.InitialState = siblingState);
        harness.Configure(Harness.Spec("r", "reentrant"), Harness.Spec("s", "t"));

        // act
        harness.Step(3);

        // assert
        Assert.IsType<InvalidOperationException>(fromDerive);
        Assert.Equal(1, harness.Workers["r"].DeriveCalls);
        NodeError? error = harness.Node("r").GetError(ErrorSource.Derive);
        Assert.NotNull(error);
        Assert.Equal(error.Message, fromDerive.Message);
        Assert.Equal(2, siblingState.Calls);
        Assert.Equal(3, harness.Runtime.TickCount);
    }

    [Fact]
    [Trait("spec", "C-16")]
    public async Task C16_ManualTickOnceWhileAnotherThreadTicks_ThrowsAndDoesNothing()
    {
        // arrange: the first tick blocks inside the derive of "w" until the test releases it.
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        await using var harness = new Harness();
        harness.Register("t", w => w.OnDerive = spec =>
        {
            entered.Set();
            Assert.True(release.Wait(Wait.DefaultTimeout), "the test released the derive");
            return Running(spec);
        });
        harness.Configure(Harness.Spec("w", "t"));
        Task first = Task.Run(() => harness.Runtime.TickOnce());
        Assert.True(entered.Wait(Wait.DefaultTimeout), "the first tick reached the derive");

        // act
        Assert.Throws<InvalidOperationException>(() => harness.Runtime.TickOnce());
        int deriveCallsDuringTheFirstTick = harness.Workers["w"].DeriveCalls;
        release.Set();
        await first.WaitAsync(Wait.DefaultTimeout);

        // assert
        Assert.Equal(1, deriveCallsDuringTheFirstTick);
        Assert.Equal(1, harness.Runtime.TickCount);
        harness.Step();
        Assert.Equal(2, harness.Runtime.TickCount);
    }

    [Fact]
    [Trait("spec", "C-17")]
    public async Task C17_AlreadyCancelledToken_ThrowsAndRunsNoDeriveReconcileOrNext()
    {
        // arrange: pending inputs that would make the next tick derive, create a node and evaluate.
        LambdaState state = TestStates.NewIdle();
        await using var harness = new Harness();
        harness.Register("t", w => w.InitialState = state);
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(2);
        TestWorker worker = harness.Workers["w"];
        int callsBefore = state.Calls;
        long ticksBefore = harness.Runtime.TickCount;
        harness.Configure(Harness.Spec("w", "t"), Harness.Spec("x", "t"));
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        // act
        Assert.ThrowsAny<OperationCanceledException>(() => harness.Runtime.TickOnce(cts.Token));

        // assert
        Assert.Equal(1, worker.DeriveCalls);
        Assert.Equal(callsBefore, state.Calls);
        Assert.Null(harness.Runtime.FindNode("x"));
        Assert.Equal(1, harness.Runtime.LiveWorkerCount);
        Assert.Equal(ticksBefore, harness.Runtime.TickCount);

        // The commands were not consumed: the next tick applies them.
        harness.Step();
        Assert.Equal(2, worker.DeriveCalls);
        Assert.NotNull(harness.Runtime.FindNode("x"));
    }

    [Fact]
    [Trait("spec", "C-17")]
    public async Task TickOnce_TokenCancelledDuringTick_StopsBetweenNodes()
    {
        // arrange: "a"'s Next cancels the tick's token; "b" comes after it.
        using var cts = new CancellationTokenSource();
        var first = new LambdaState("a-idle", (self, in s) =>
        {
            cts.Cancel();
            return Transition.To(self);
        });
        LambdaState second = TestStates.NewIdle("b-idle");
        await using var harness = new Harness();
        harness.Register("a", w => w.InitialState = first);
        harness.Register("b", w => w.InitialState = second);
        harness.Configure(Harness.Spec("a", "a"), Harness.Spec("b", "b"));
        harness.Step();
        harness.Scheduler.RunDue();

        // act
        Assert.ThrowsAny<OperationCanceledException>(() => harness.Runtime.TickOnce(cts.Token));

        // assert
        Assert.Equal(1, first.Calls);
        Assert.Equal(0, second.Calls);
        Assert.Null(harness.Node("a").LastError);
        harness.Runtime.TickOnce();
        Assert.Equal(1, second.Calls);
    }

    [Fact]
    [Trait("spec", "C-19")]
    public async Task C19_DeriveMemoized_RerunsOnlyForChangedInputs()
    {
        // arrange: p (children c1, c2) and q at the top level.
        await using var harness = new Harness();
        ChildSpec c1 = Harness.Spec("c1", "leaf");
        ChildSpec c2 = Harness.Spec("c2", "leaf");
        harness.Register("parent", w => w.Children = [c1, c2]);
        harness.Register("leaf");
        harness.Configure(Harness.Spec("p", "parent"), Harness.Spec("q", "leaf"));
        string[] ids = ["p", "p/c1", "p/c2", "q"];
        int[] Derives() => [.. ids.Select(id => harness.Workers[id].DeriveCalls)];

        // act 1: unchanged inputs for 5 ticks.
        harness.Step(5);
        int[] steady = Derives();

        // act 2: a global variable changes.
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        harness.Step(3);
        int[] afterGlobals = Derives();

        // act 3: only q's spec changes (p is re-declared with an equal, newly allocated spec).
        harness.Configure(Harness.Spec("p", "parent"), Harness.Spec("q", "leaf", "stopped"));
        harness.Step(3);
        int[] afterTopLevelChange = Derives();

        // act 4: p re-declares c1 with a different config, c2 unchanged.
        harness.Workers["p"].Children = [Harness.Spec("c1", "leaf", "stopped"), c2];
        harness.Configure(Harness.Spec("p", "parent", "running"), Harness.Spec("q", "leaf", "stopped"));
        harness.Step(3);
        int[] afterChildChange = Derives();

        // assert
        Assert.Equal([1, 1, 1, 1], steady);
        Assert.Equal([2, 2, 2, 2], afterGlobals);
        Assert.Equal([2, 2, 2, 3], afterTopLevelChange);
        Assert.Equal([3, 3, 2, 3], afterChildChange);
        Assert.Equal("stopped", harness.Node("p/c1").EffectiveDesiredState);
    }

    [Fact]
    [Trait("spec", "C-20")]
    public async Task C20_ChildRedeclaredWithEqualNewlyAllocatedSpec_NoRederiveAndNoNodeUpdated()
    {
        // arrange: p's derive allocates a new, structurally equal spec (with variables) for "c" on every call.
        ChildSpec? lastDeclared = null;
        await using var harness = new Harness();
        harness.Register("parent", w => w.OnDerive = spec =>
        {
            var user = new Dictionary<string, object?> { ["port"] = "502", ["tags"] = new List<object?> { "a", "b" } };
            lastDeclared = new ChildSpec("c", "leaf", new UserSpec("running", new VariableBundle(user)));
            return Running(spec, [lastDeclared]);
        });
        harness.Register("leaf");
        harness.Configure(Harness.Spec("p", "parent", "running"));
        harness.Step(2);
        SupervisorNode child = harness.Node("p/c");
        ChildSpec firstDeclared = lastDeclared!;

        // act: p re-derives (its own config changed) and re-declares "c".
        harness.Configure(Harness.Spec("p", "parent", "active"));
        harness.Step(2);

        // assert
        Assert.Equal(2, harness.Workers["p"].DeriveCalls);
        Assert.NotSame(firstDeclared, lastDeclared);
        Assert.Same(child, harness.Node("p/c"));
        Assert.Same(lastDeclared, child.Spec);
        Assert.Equal(1, harness.Workers["p/c"].DeriveCalls);
        Assert.DoesNotContain(harness.Events("node_updated"), r => r.Node() == "p/c");
        Assert.Contains(harness.Events("node_updated"), r => r.Node() == "p");
    }

    [Fact]
    [Trait("spec", "C-62")]
    public async Task C62_InvariantViolationInGrandchild_PropagatesOutOfTickOnce()
    {
        // arrange: p → c → g; g returns a different state together with an action.
        await using Harness harness = CreateTreeWithViolatingGrandchild(new Harness());

        // act
        harness.Step();
        InvariantViolationException ex = Assert.Throws<InvariantViolationException>(() => harness.Step());

        // assert
        Assert.Contains("'p/c/g'", ex.Message, StringComparison.Ordinal);
        Assert.Equal("g-start", harness.Node("p/c/g").CurrentStateName);
    }

    [Fact]
    [Trait("spec", "C-62")]
    public async Task C62_InvariantViolationOnStartedRuntime_TickThreadStopsAndCompletionFaults()
    {
        // arrange
        await using Harness harness = CreateTreeWithViolatingGrandchild(new Harness());
        harness.Runtime.Start();

        // act
        for (int i = 0; i < 100 && !harness.Runtime.Completion.IsCompleted; i++)
        {
            harness.TickOnTickThread();
        }

        // assert
        await Assert.ThrowsAsync<InvariantViolationException>(() => harness.Runtime.Completion.WaitAsync(Wait.DefaultTimeout));
        Assert.True(harness.Runtime.Completion.IsFaulted);
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "invariant_violation" && r.Level == LogLevel.Critical);
        Assert.Equal("g-start", harness.Runtime.Status.Find("p/c/g")?.State);
        long ticks = harness.Runtime.TickCount;
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ticks, harness.Runtime.TickCount);

        // The drain of a runtime stopped by a violation reports the violation.
        await Assert.ThrowsAsync<InvariantViolationException>(() => harness.Runtime.ShutdownAsync().WaitAsync(Wait.DefaultTimeout));
    }

    private static Harness CreateTreeWithViolatingGrandchild(Harness harness)
    {
        var action = new TestAction();
        LambdaState other = TestStates.NewIdle("g-other");
        var start = new LambdaState("g-start", (self, in s) => new Transition<TestObserved, string>(other, Signal.None, action));
        harness.Register("p", w => w.Children = [Harness.Spec("c", "c")]);
        harness.Register("c", w => w.Children = [Harness.Spec("g", "g")]);
        harness.Register("g", w => w.InitialState = start);
        harness.Configure(Harness.Spec("p", "p"));
        return harness;
    }
}
