using Fsm2.Edge.Collection;
using Fsm2.Edge.Execution;
using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>Child restart (30-supervision §7), top-level restarts (§6) and panics (§9), on a fake clock.</summary>
public sealed class RestartAndPanicTests
{
    private static readonly TimeSpan s_step = TimeSpan.FromMilliseconds(100);

    // Collector death within about 4 s of the data stopping: timeout 3 s, one restart, then escalation.
    private static RuntimeOptions FastDeath(TimeSpan? restartGrace = null, TimeSpan? breakerDelay = null) => new()
    {
        BreakerJitter = 0,
        SupervisionSeed = 7,
        StaleThreshold = TimeSpan.FromSeconds(2),
        CollectorTimeout = TimeSpan.FromSeconds(3),
        ObservationTimeout = TimeSpan.FromMilliseconds(500),
        CollectorRestartStep = TimeSpan.FromMilliseconds(500),
        MaxCollectorRestarts = 1,
        RestartGrace = restartGrace,
        BreakerBaseDelay = breakerDelay ?? TimeSpan.Zero,
        BreakerMaxDelay = breakerDelay ?? TimeSpan.Zero,
    };

    /// <summary>A harness whose "leaf" and "mid" collections hang while <see cref="Hang"/> is set for their path.</summary>
    private sealed class Fixture : IAsyncDisposable
    {
        private readonly HashSet<string> _hanging = [];

        public Fixture(RuntimeOptions options, ChildSpec top, Func<string, IReadOnlyList<ChildSpec>?> declare)
        {
            Harness = new Harness(options);
            Probes = FakeProbes.Register(Harness);
            Harness.RegisterParent("parent", declare, w => Hook(w));
            Harness.RegisterParent("mid", _ => [Spec("g", "leaf")], w => Hook(w));
            Harness.Register("leaf", w => Hook(w));
            Harness.Configure(top);
            Harness.Step(2);
            Steps(10);
        }

        public Harness Harness { get; }

        public Dictionary<string, FakeProbe> Probes { get; }

        public Func<Identity, LambdaState>? States { get; set; }

        public void Hang(string path, bool on)
        {
            lock (_hanging)
            {
                if (on)
                {
                    _hanging.Add(path);
                }
                else
                {
                    _hanging.Remove(path);
                }
            }
        }

        public void Steps(int ticks) => Harness.AdvanceAndStep(s_step, ticks);

        /// <summary>
        /// Steps until <paramref name="condition"/> holds, at most <paramref name="max"/> steps; conditions that also
        /// depend on another thread (an action starting) then get up to 10 s of real time without further steps.
        /// </summary>
        public void StepUntil(Func<bool> condition, string what, int max = 2_000)
        {
            for (int i = 0; i < max && !condition(); i++)
            {
                Steps(1);
            }

            if (!condition())
            {
                Wait.Until(condition, $"never: {what}");
            }
        }

        public ValueTask DisposeAsync() => Harness.DisposeAsync();

        public void Hook(TestWorker worker)
        {
            if (States?.Invoke(worker.Identity) is { } state)
            {
                worker.InitialState = state;
            }

            worker.OnCollect = (_, ct) =>
            {
                bool hang;
                lock (_hanging)
                {
                    hang = _hanging.Contains(worker.Identity.Id);
                }

                return hang ? TestCollect.UntilCancelled(ct) : ValueTask.FromResult(new TestObserved(worker.CollectCalls));
            };
        }
    }

    [Fact]
    [Trait("spec", "S-15")]
    public async Task S15_CollectorDeadChild_NotRestartedInOpeningTickRestartedAtFailedTrial()
    {
        // arrange
        await using var f = new Fixture(FastDeath(), Spec("p", "parent", "c"), _ => [Spec("c", "leaf")]);
        using var restarts = new MetricCollector<long>(f.Harness.Runtime.Metrics.ChildRestarts);
        SupervisorNode c = f.Harness.Node("p/c");
        Collector? oldCollector = c.Collector;
        f.Hang("p/c", true);
        f.StepUntil(() => c.CollectorDead, "c's collector escalates");

        // act 1: the opening evaluation.
        f.Harness.Step();

        // assert 1
        SupervisorNode p = f.Harness.Node("p");
        Assert.Equal(BreakerState.Open, p.BreakerState);
        Assert.Equal([new HealthCause(HealthCauseKind.ChildCollectorDead, "c")], p.BreakerCauses);
        Assert.Equal(1, f.Harness.InstancesCreated("p/c"));

        // act 2: the trial one second later still finds c dead.
        f.Hang("p/c", false);
        f.StepUntil(() => f.Harness.InstancesCreated("p/c") == 2, "c restarted", max: 11);

        // assert 2
        Assert.Same(c, f.Harness.Node("p/c"));
        Assert.False(c.CollectorDead);
        Assert.NotSame(oldCollector, c.Collector);
        Assert.Equal(1, c.RestartCount);
        Assert.Equal(1, c.Incarnation);
        Assert.Single(f.Harness.Events("child_restarted"), r => r.Node() == "p/c" && r.Level == LogLevel.Warning && r.Field("Reason") == "collector_dead");
        Assert.Equal(1, restarts.GetMeasurementSnapshot().EvaluateAsCounter());
        f.StepUntil(() => p.BreakerState == BreakerState.Closed, "p closes once c is healthy again");
        Assert.Equal("idle", c.CurrentStateName);
    }

    [Fact]
    [Trait("spec", "S-16")]
    public async Task S16_RestartWhileChildHasActiveChildren_KeepsNodeAndDoesNotRecreateGrandchildren()
    {
        // arrange: p open on its probe with a trial every tick; no restart grace.
        await using var f = new Fixture(FastDeath(restartGrace: TimeSpan.Zero, breakerDelay: s_step), Spec("p", "parent", "c").WithProbe("p-probe"),
            _ => [Spec("c", "mid")]);
        SupervisorNode c = f.Harness.Node("p/c");
        SupervisorNode g = f.Harness.Node("p/c/g");
        f.Probes["p-probe"].Outcome = ProbeOutcome.Refused;
        f.StepUntil(() => f.Harness.Node("p").BreakerState == BreakerState.Open, "p opens");
        f.Hang("p/c", true);

        // act
        f.StepUntil(() => c.RestartCount == 1, "c restarted by p's trial");

        // assert
        Assert.Same(c, f.Harness.Node("p/c"));
        Assert.Equal("p/c", c.Path);
        Assert.Same(g, c.GetChild("g"));
        Assert.Equal(NodeLifecycle.Active, g.Lifecycle);
        Assert.Equal(1, f.Harness.InstancesCreated("p/c/g"));
        Assert.Equal(["p-probe"], f.Harness.Node("p").ProbeIds);

        f.Hang("p/c", false);
        f.Probes["p-probe"].Outcome = ProbeOutcome.Success;
        f.StepUntil(() => f.Harness.Node("p").BreakerState == BreakerState.Closed && c.Mode == NodeMode.Full, "p closes");
        f.Steps(5);
        Assert.Same(g, c.GetChild("g"));
        Assert.Equal(1, f.Harness.InstancesCreated("p/c/g"));
    }

    [Fact]
    [Trait("spec", "S-20")]
    [Trait("spec", "A-27")]
    public async Task S20_RestartWithActionInFlight_NotCancelledNewInstanceWaitsAndSeesResult()
    {
        // arrange: c starts a blocking action as soon as it runs; p is open with a trial every tick, no grace.
        var action = new TestAction("calibrate", TimeSpan.FromHours(1)) { Block = true };
        await using var f = new Fixture(FastDeath(restartGrace: TimeSpan.Zero, breakerDelay: s_step), Spec("p", "parent", "c").WithProbe("p-probe"),
            _ => [Spec("c", "acting")]);
        f.Harness.Register("acting", w =>
        {
            f.Hook(w);
            w.InitialState = new LambdaState("acting", (self, in s) => s.ShutdownRequested ? Transition.To(self) : Transition.Act(self, action));
        });
        f.Harness.Configure(Spec("p", "parent", "x").WithProbe("p-probe"));
        f.StepUntil(() => action.Starts == 1, "the action starts");
        SupervisorNode c = f.Harness.Node("p/c");
        long duplicatesBefore = f.Harness.Runtime.Metrics.DuplicatesSuppressed;

        // act: p opens (A-27: an open breaker cancels nothing), c's collector dies, p's trial restarts c.
        f.Probes["p-probe"].Outcome = ProbeOutcome.Refused;
        f.Hang("p/c", true);
        f.StepUntil(() => c.RestartCount == 1, "c restarted");
        f.Hang("p/c", false);
        f.Probes["p-probe"].Outcome = ProbeOutcome.Success;
        f.StepUntil(() => c.Mode == NodeMode.Full && f.Harness.Worker("p/c").CollectCalls > 0, "c back in full mode");
        f.Steps(5);

        // assert: still running, never cancelled; the new instance was refused as a duplicate, never started another.
        Assert.False(action.LastToken.IsCancellationRequested);
        Assert.True(c.ActionSlot.InFlight);
        Assert.Equal(1, action.Starts);
        Assert.True(f.Harness.Runtime.Metrics.DuplicatesSuppressed > duplicatesBefore);

        // act 2: the action completes; its result is accepted into c's action status.
        action.Release();
        Wait.Until(() => f.Harness.Runtime.OutstandingActions == 0, "the completion is queued");
        f.Steps(1);

        // assert 2
        Assert.Equal(ActionOutcome.Success, c.ActionSlot.Status.LastOutcome);
        Assert.Equal("calibrate", c.ActionSlot.Status.LastKind);
    }

    [Fact]
    [Trait("spec", "S-20")]
    public async Task S20_RestartAfterCollectorEscalationKeepsInFlightAction()
    {
        // arrange: c starts a blocking action and, once its shutdown is requested, ends its walk with NeedsRemoval at
        // once; p has no probe, so it opens only on ChildCollectorDead(c) and restarts c at its first failed trial.
        var action = new TestAction("calibrate", TimeSpan.FromHours(1)) { Block = true };
        int removalSignals = 0;
        await using var f = new Fixture(FastDeath(breakerDelay: s_step), Spec("p", "parent", "c"), _ => [Spec("c", "walking")]);
        f.Harness.Register("walking", w =>
        {
            f.Hook(w);
            w.InitialState = new LambdaState("walking", (self, in s) =>
            {
                if (s.ShutdownRequested)
                {
                    Interlocked.Increment(ref removalSignals);
                    return Transition.Emit(self, Signal.NeedsRemoval, "shutdown");
                }

                return Transition.Act(self, action);
            });
        });
        f.Harness.Configure(Spec("p", "parent", "x"));
        f.StepUntil(() => action.Starts == 1, "the action starts");
        SupervisorNode c = f.Harness.Node("p/c");

        // act: c's collector hangs and escalates (shutdown request, CollectorUnresponsive), c walks its shutdown to
        // NeedsRemoval, and p's failed trial restarts it.
        f.Hang("p/c", true);
        f.StepUntil(() => c.RestartCount == 1, "c restarted");
        f.Hang("p/c", false);
        f.StepUntil(() => c.Mode == NodeMode.Full && f.Harness.Worker("p/c").CollectCalls > 0, "c back in full mode");
        f.Steps(5);

        // assert: the walk ended in NeedsRemoval, yet the action still runs, uncancelled, and the new instance started
        // no second one.
        Assert.True(removalSignals >= 1);
        Assert.False(action.LastToken.IsCancellationRequested);
        Assert.True(c.ActionSlot.InFlight);
        Assert.Equal(1, action.Starts);
        Assert.Equal(NodeLifecycle.Active, c.Lifecycle);

        // act 2: the action completes; its result reaches the restarted node's action status.
        action.Release();
        Wait.Until(() => f.Harness.Runtime.OutstandingActions == 0, "the completion is queued");
        f.Steps(1);

        // assert 2
        Assert.Equal(ActionOutcome.Success, c.ActionSlot.Status.LastOutcome);
        Assert.Equal("calibrate", c.ActionSlot.Status.LastKind);
    }

    [Fact]
    [Trait("spec", "S-24")]
    public async Task S24_TopLevelCollectorDead_SiblingRunsFullAndItIsRestartedOnItsOwnSchedule()
    {
        // arrange
        await using var f = new Fixture(FastDeath(), Spec("a", "leaf"), _ => []);
        LambdaState bState = TestStates.NewIdle("b-idle");
        f.Harness.Register("b-type", w => w.InitialState = bState);
        f.Harness.Configure(Spec("a", "leaf"), Spec("b", "b-type"));
        f.Steps(10);
        f.Hang("a", true);
        f.StepUntil(() => f.Harness.Node("a").CollectorDead, "a escalates");
        f.Hang("a", false);
        int bCalls = bState.Calls;

        // act
        f.StepUntil(() => f.Harness.Node("a").RestartCount == 1, "a restarted by the root's schedule", max: 30);
        f.Steps(10);

        // assert
        Assert.Equal(NodeMode.Full, f.Harness.Node("b").Mode);
        Assert.True(bState.Calls > bCalls);
        Assert.Equal(BreakerState.Closed, f.Harness.Runtime.Root.BreakerState);
        Assert.False(f.Harness.Node("a").CollectorDead);
        Assert.Equal(NodeMode.Full, f.Harness.Node("a").Mode);
    }

    [Fact]
    [Trait("spec", "S-23")]
    public async Task S23_ShutdownWhileBreakersOpen_NoTrialNoCloseAndEveryNodeDrains()
    {
        // arrange: p and c open on their probes.
        await using var f = new Fixture(new RuntimeOptions { BreakerJitter = 0, SupervisionSeed = 3 }, Spec("p", "parent", "c").WithProbe("p-probe"),
            _ => [Spec("c", "leaf").WithProbe("c-probe")]);
        f.Probes["p-probe"].Outcome = ProbeOutcome.Refused;
        f.Probes["c-probe"].Outcome = ProbeOutcome.Refused;
        f.StepUntil(() => f.Harness.Node("p").BreakerState == BreakerState.Open && f.Harness.Node("p/c").BreakerState == BreakerState.Open, "both open");
        int trialLines = f.Harness.Events("breaker_trial_failed").Count;
        f.Probes["p-probe"].Outcome = ProbeOutcome.Success;
        f.Probes["c-probe"].Outcome = ProbeOutcome.Success;

        // act
        Task<ShutdownResult> shutdown = f.Harness.Runtime.ShutdownAsync();
        for (int i = 0; i < 100 && !shutdown.IsCompleted; i++)
        {
            f.Steps(1);
        }

        ShutdownResult result = await Wait.For(shutdown, "the drain");

        // assert
        Assert.True(result.Clean);
        Assert.Empty(f.Harness.Events("breaker_closed"));
        Assert.Equal(trialLines, f.Harness.Events("breaker_trial_failed").Count);
        Assert.Empty(f.Harness.Events("child_restarted"));
    }

    [Fact]
    [Trait("spec", "S-25")]
    public async Task S25_NextThrowsNullReference_ContainedAsBugAtNextAndRetriedNextTick()
    {
        // arrange
        int calls = 0;
        var throwing = new LambdaState("throwing", (self, in s) =>
        {
            Interlocked.Increment(ref calls);
            string? device = s.Observed.Tag.Length < 0 ? "" : null;
            return device!.Length > 0 ? Transition.To(self) : Transition.To(self); // dereferences null: a real NullReferenceException

        });
        await using var h = new Harness();
        using var panics = new MetricCollector<long>(h.Runtime.Metrics.Panics);
        LambdaState sibling = TestStates.NewIdle("ok");
        h.Register("bad", w => w.InitialState = throwing);
        h.Register("ok", w => w.InitialState = sibling);
        h.Configure(Spec("bad", "bad"), Spec("ok", "ok"));

        // act
        h.Step(3);

        // assert
        Assert.Equal(2, calls);
        Assert.Equal("throwing", h.Node("bad").CurrentStateName);
        var line = h.Events("tick_panic").First(r => r.Node() == "bad");
        Assert.Equal("bug", line.Field("Class"));
        Assert.Equal("next", line.Field("Site"));
        Assert.IsType<NullReferenceException>(line.Exception);
        Assert.Equal(2, panics.GetMeasurementSnapshot().Count(m =>
            m.Tags["class"] as string == "bug" && m.Tags["site"] as string == "next" && m.Tags["node"] as string == "bad"));
        Assert.Equal(2, sibling.Calls);
        Assert.Equal(PanicClass.Bug, h.Node("bad").LastError?.Class);
    }

    [Fact]
    [Trait("spec", "S-27")]
    [Trait("spec", "S-29")]
    public async Task S27_ThreePanicsWithinWindow_OpensOnThirdSkipsDeriveAndNextThenClosesAfterFiveMinutes()
    {
        // arrange
        int calls = 0;
        var throwing = new LambdaState("throwing", (self, in s) =>
            Interlocked.Increment(ref calls) <= 3 ? throw new TimeoutException("plc") : Transition.To(self));
        await using var h = new Harness();
        using var opened = new MetricCollector<long>(h.Runtime.Metrics.PanicBreakerOpened);
        h.Register("w", w => w.InitialState = throwing);
        h.Configure(Spec("w", "w"));
        h.Step(4);
        SupervisorNode node = h.Node("w");

        // assert: opened on the third.
        Assert.True(node.PanicBreakerOpen);
        Assert.Equal("3", Assert.Single(h.Events("panic_breaker_opened")).Field("Count"));
        Assert.Equal(1, opened.GetMeasurementSnapshot().EvaluateAsCounter());

        // act: ticks for 5 minutes minus a step do not call derive or Next.
        int derives = h.Worker("w").DeriveCalls;
        h.Configure(Spec("w", "w", "changed"));
        for (int i = 0; i < 299; i++)
        {
            h.AdvanceAndStep(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(3, calls);
        Assert.Equal(derives, h.Worker("w").DeriveCalls);
        Assert.True(node.PanicBreakerOpen);

        // act: the newest panic is now 5 minutes old.
        h.AdvanceAndStep(TimeSpan.FromSeconds(1));

        // assert (S-29)
        Assert.False(node.PanicBreakerOpen);
        Assert.Single(h.Events("panic_breaker_closed"));
        Assert.Equal(4, calls);
        Assert.True(h.Worker("w").DeriveCalls > derives);
        Assert.Equal(NodeMode.Full, node.Mode);
    }

    [Fact]
    [Trait("spec", "S-28")]
    public async Task S28_TwoPanicsOrTenConfigErrors_PanicBreakerStaysClosed()
    {
        // arrange
        int bugCalls = 0;
        var twice = new LambdaState("twice", (self, in s) =>
            Interlocked.Increment(ref bugCalls) <= 2 ? throw new InvalidOperationException("bug") : Transition.To(self));
        var config = new LambdaState("config", (self, in s) => throw new ConfigException("line 4: field 'port' must be a number"));
        await using var h = new Harness();
        h.Register("twice", w => w.InitialState = twice);
        h.Register("config", w => w.InitialState = config);
        h.Configure(Spec("twice", "twice"), Spec("config", "config"));

        // act
        h.Step(11);

        // assert
        Assert.False(h.Node("twice").PanicBreakerOpen);
        Assert.False(h.Node("config").PanicBreakerOpen);
        Assert.Equal(10, config.Calls);
        NodeError? error = h.Node("config").LastError;
        Assert.Equal(PanicClass.Config, error?.Class);
        Assert.Contains("field 'port'", error!.Message, StringComparison.Ordinal);
        Assert.Equal(PanicClass.Config, h.Runtime.Status.Find("config")?.LastError?.Class);
    }

    [Fact]
    [Trait("spec", "S-31")]
    public async Task S31_LoggerThrowsWhileContainingPanic_TickSurvivesOneSupervisionPanicOthersTicked()
    {
        // arrange: a logger that throws on tick_panic.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var scheduler = new ManualObservationScheduler(time);
        var factory = new WorkerFactory();
        var throwing = new LambdaState("throwing", (self, in s) => throw new InvalidOperationException("first"));
        LambdaState sibling = TestStates.NewIdle("ok");
        factory.Register<TestObserved, string>("bad", id => new TestWorker(id) { InitialState = throwing });
        factory.Register<TestObserved, string>("ok", id => new TestWorker(id) { InitialState = sibling });
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new ThrowingLoggerProvider("tick_panic")));
        await using var runtime = new SupervisorRuntime(factory, null, time, loggers, scheduler);
        using var panics = new MetricCollector<long>(runtime.Metrics.Panics);
        runtime.SetConfiguration([Spec("bad", "bad"), Spec("ok", "ok")]);

        // act
        for (int i = 0; i < 2; i++)
        {
            scheduler.RunDue();
            runtime.TickOnce();
        }

        // assert
        Assert.Equal(1, throwing.Calls);
        Assert.Equal(1, sibling.Calls);
        Assert.Equal(1, panics.GetMeasurementSnapshot().Count(m => m.Tags["site"] as string == "supervision" && m.Tags["class"] as string == "bug"));
        Assert.Equal(2, runtime.TickCount);
    }

    [Fact]
    [Trait("spec", "S-32")]
    public async Task S32_NextReturnsStateChangeWithAction_InvariantViolationNotCounted()
    {
        // arrange
        var target = TestStates.NewIdle("target");
        var bad = new LambdaState("bad", (self, in s) => new Transition<TestObserved, string>(target, Signal.None, new TestAction()));
        await using var h = new Harness();
        using var panics = new MetricCollector<long>(h.Runtime.Metrics.Panics);
        h.Register("w", w => w.InitialState = bad);
        h.Configure(Spec("w", "w"));
        h.Step();

        // act
        Exception? thrown = Record.Exception(() => h.Step());

        // assert
        Assert.IsType<InvariantViolationException>(thrown);
        Assert.Empty(panics.GetMeasurementSnapshot());
        Assert.False(h.Node("w").PanicBreakerOpen);
    }

    private sealed class ThrowingLoggerProvider(string eventName) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ThrowingLogger(eventName);

        public void Dispose()
        {
        }

        private sealed class ThrowingLogger(string eventName) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (eventId.Name == eventName)
                {
                    throw new InvalidOperationException("the log sink is broken");
                }
            }
        }
    }
}
