using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>
/// Observation freshness, the stale pause, collector restarts with linear backoff and the escalation to a graceful
/// shutdown (§5.2, §5.3), with default timings: StaleThreshold 10 s, CollectorTimeout 20 s, restart step 2 s,
/// 3 restarts.
/// </summary>
public sealed class FreshnessTests
{
    private static readonly TimeSpan s_second = TimeSpan.FromSeconds(1);

    /// <summary>
    /// One top-level worker "w" in <paramref name="state"/>; its collections deliver until <see cref="Hang"/> is set,
    /// then deliver nothing (each one ends when its token is cancelled at the observation timeout).
    /// </summary>
    private sealed class Fixture : IAsyncDisposable
    {
        private int _hang;

        public Fixture(LambdaState state)
        {
            State = state;
            Harness.Register("t", w =>
            {
                w.InitialState = state;
                w.OnCollect = (_, ct) => Volatile.Read(ref _hang) != 0
                    ? TestCollect.UntilCancelled(ct)
                    : ValueTask.FromResult(new TestObserved(w.CollectCalls));
            });
            Harness.Configure(Harness.Spec("w", "t"));
            Harness.Step(2); // created, then observed and evaluated once
        }

        public Harness Harness { get; } = new();

        public LambdaState State { get; }

        public SupervisorNode Node => Harness.Node("w");

        public bool Hang
        {
            set => Volatile.Write(ref _hang, value ? 1 : 0);
        }

        /// <summary>Advances the clock to <paramref name="at"/> in steps of at most one second, stepping after each.</summary>
        public void StepUntil(DateTimeOffset at)
        {
            while (Harness.Time.GetUtcNow() < at)
            {
                TimeSpan left = at - Harness.Time.GetUtcNow();
                Harness.AdvanceAndStep(left < s_second ? left : s_second);
            }
        }

        public ValueTask DisposeAsync() => Harness.DisposeAsync();
    }

    [Fact]
    [Trait("spec", "C-21")]
    public async Task C21_TwoObservationsBetweenTicks_NextSeesOnlyTheNewer()
    {
        // arrange
        var seen = new List<int>();
        var state = new LambdaState("observing", (self, in s) =>
        {
            seen.Add(s.Observed.Value);
            return Transition.To(self);
        });
        await using var fixture = new Fixture(state);
        Harness harness = fixture.Harness;
        long sequenceBefore = state.LastSequence;
        seen.Clear();

        // act: two collections, one interval apart, without a tick in between.
        harness.Time.Advance(s_second);
        Assert.Equal(1, harness.Scheduler.RunDue());
        harness.Time.Advance(s_second);
        Assert.Equal(1, harness.Scheduler.RunDue());
        harness.Runtime.TickOnce();

        // assert
        Assert.Equal(sequenceBefore + 2, state.LastSequence);
        int value = Assert.Single(seen);
        Assert.Equal(harness.Workers["w"].CollectCalls, value); // the value of the latest collection
    }

    [Fact]
    [Trait("spec", "C-22")]
    [Trait("spec", "S-33")]
    public async Task C22_ObservationAgedExactlyStaleThreshold_PausesWithoutRestart()
    {
        // arrange: no further collections run; the one observation ages with the clock.
        LambdaState state = TestStates.NewIdle();
        await using var fixture = new Fixture(state);
        Harness harness = fixture.Harness;
        int calls = state.Calls;

        // act
        harness.Time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(1));
        harness.Runtime.TickOnce();
        int callsJustBelow = state.Calls;
        harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        harness.Runtime.TickOnce();
        int callsAtThreshold = state.Calls;

        // assert
        Assert.Equal(calls + 1, callsJustBelow);
        Assert.Equal(callsJustBelow, callsAtThreshold);
        Assert.Equal(0, fixture.Node.CollectorRestartCount);
        Assert.Single(harness.Events("observation_stale"), r => r.Node() == "w" && r.Level == LogLevel.Warning);
        Assert.Empty(harness.Events("collector_restarted"));
    }

    [Fact]
    [Trait("spec", "C-22")]
    public async Task Tick_StaleWorkerGetsFreshObservation_ResumesAndLogsFresh()
    {
        // arrange
        LambdaState state = TestStates.NewIdle();
        await using var fixture = new Fixture(state);
        Harness harness = fixture.Harness;
        harness.Time.Advance(TimeSpan.FromSeconds(12));
        harness.Runtime.TickOnce();
        int pausedCalls = state.Calls;

        // act
        harness.Step();

        // assert
        Assert.Equal(pausedCalls + 1, state.Calls);
        Assert.Single(harness.Events("observation_fresh"), r => r.Node() == "w");
    }

    [Fact]
    [Trait("spec", "C-22")]
    public async Task C22_NoFirstObservationWithinStaleThreshold_LogsStaleOnceThenFreshOnArrival()
    {
        // arrange: every collection of "w" fails until 'failing' is cleared, so it never gets a first observation.
        int failing = 1;
        LambdaState state = TestStates.NewIdle();
        await using var harness = new Harness();
        harness.Register("t", w =>
        {
            w.InitialState = state;
            w.OnCollect = (_, _) => Volatile.Read(ref failing) != 0
                ? ValueTask.FromException<TestObserved>(new InvalidOperationException("device down"))
                : ValueTask.FromResult(new TestObserved(w.CollectCalls));
        });
        harness.Configure(Harness.Spec("w", "t"));
        harness.Step(2);
        DateTimeOffset collectorStarted = harness.Time.GetUtcNow();
        TimeSpan? staleAt = null;

        // act: 12 s without an observation, then collections succeed.
        for (int i = 0; i < 12; i++)
        {
            harness.AdvanceAndStep(s_second);
            if (staleAt is null && harness.Events("observation_stale").Any(r => r.Node() == "w"))
            {
                staleAt = harness.Time.GetUtcNow() - collectorStarted;
            }
        }

        int callsWhilePaused = state.Calls;
        Volatile.Write(ref failing, 0);
        harness.AdvanceAndStep(s_second);
        harness.Step();

        // assert: one stale pause (Warning), entered at the StaleThreshold age measured from the collector's start, left
        // on the first observation; Next ran only after it; no collector restart (the age stayed below CollectorTimeout).
        Assert.Equal(TimeSpan.FromSeconds(10), staleAt);
        Microsoft.Extensions.Logging.Testing.FakeLogRecord stale = Assert.Single(harness.Events("observation_stale"), r => r.Node() == "w");
        Assert.Equal(LogLevel.Warning, stale.Level);
        Assert.Equal(0, callsWhilePaused);
        Assert.Single(harness.Events("observation_fresh"), r => r.Node() == "w");
        Assert.True(state.Calls > 0);
        Assert.Equal(0, harness.Node("w").CollectorRestartCount);
        Assert.Empty(harness.Events("collector_restarted"));
    }

    [Fact]
    [Trait("spec", "C-23")]
    [Trait("spec", "S-36")]
    public async Task C23_ChildCreatedThisTickWithoutObservation_NotEvaluatedAndViewShowsInitialState()
    {
        // arrange: "p" runs; its child's collection never completes.
        var viewed = new List<string>();
        var parentState = new LambdaState("parent", (self, in s) =>
        {
            viewed.Add(s.Children.GetState("c"));
            return Transition.To(self);
        });
        LambdaState childState = TestStates.NewIdle("c-initial");
        await using var harness = new Harness();
        harness.Register("parent", w => w.InitialState = parentState);
        harness.Register("leaf", w =>
        {
            w.InitialState = childState;
            w.OnCollect = (_, _) => new ValueTask<TestObserved>(new TaskCompletionSource<TestObserved>().Task);
        });
        harness.Configure(Harness.Spec("p", "parent"));
        harness.Step(2);
        viewed.Clear();

        // act: p declares "c" (p's config changes, so it re-derives).
        harness.Workers["p"].Children = [Harness.Spec("c", "leaf")];
        harness.Configure(Harness.Spec("p", "parent", "running"));
        harness.Step();
        SupervisorNode child = harness.Node("p/c");
        string stateInCreationTick = child.CurrentStateName;
        harness.Step(2);

        // assert
        Assert.Equal(3, child.TickCount); // the creation tick and two more
        Assert.Equal("c-initial", stateInCreationTick);
        Assert.Equal(0, childState.Calls);
        Assert.Equal("c-initial", child.CurrentStateName);
        Assert.Equal(["c-initial", "c-initial", "c-initial"], viewed);
        Assert.Equal("c-initial", harness.Node("p").Children.GetState("c"));
        Assert.Equal(0, child.CollectorRestartCount);
    }

    [Fact]
    [Trait("spec", "C-24")]
    public async Task C24_ObservationCollectorTimeoutOld_RestartsCollectorWithoutEvaluating()
    {
        // arrange
        LambdaState state = TestStates.NewIdle();
        await using var fixture = new Fixture(state);
        Harness harness = fixture.Harness;
        SupervisorNode node = fixture.Node;
        Collector collector = node.Collector!;
        long generation = collector.Generation;
        DateTimeOffset observedAt = harness.Time.GetUtcNow();
        fixture.Hang = true;
        fixture.StepUntil(observedAt + TimeSpan.FromSeconds(19));
        Assert.Equal(0, node.CollectorRestartCount);
        int calls = state.Calls;
        int collections = harness.Workers["w"].CollectCalls;

        // act
        fixture.StepUntil(observedAt + TimeSpan.FromSeconds(20));

        // assert
        Assert.Equal(1, node.CollectorRestartCount);
        Assert.Equal(generation + 1, collector.Generation);
        Assert.Equal(calls, state.Calls);
        Assert.Single(harness.Events("collector_restarted"), r => r.Node() == "w");
        Assert.Equal(1, harness.Runtime.Status.Find("w")?.CollectorRestartCount);

        // The new loop collects at once (without waiting for the interval).
        Assert.Equal(1, harness.Scheduler.RunDue());
        Assert.Equal(collections + 1, harness.Workers["w"].CollectCalls);
    }

    [Fact]
    [Trait("spec", "C-25")]
    [Trait("spec", "S-34")]
    public async Task C25_NoDataAfterFirstRestart_RestartsFollowTheLinearBackoff()
    {
        // arrange: restart 1 at t.
        await using var fixture = new Fixture(TestStates.NewIdle());
        SupervisorNode node = fixture.Node;
        DateTimeOffset observedAt = fixture.Harness.Time.GetUtcNow();
        fixture.Hang = true;
        DateTimeOffset t = observedAt + TimeSpan.FromSeconds(20);
        fixture.StepUntil(t);
        Assert.Equal(1, node.CollectorRestartCount);
        Harness harness = fixture.Harness;

        int CountAt(int seconds)
        {
            harness.Time.Advance(t + TimeSpan.FromSeconds(seconds) - harness.Time.GetUtcNow());
            harness.Step();
            return node.CollectorRestartCount;
        }

        // act
        int at3 = CountAt(3);
        int at4 = CountAt(4);
        int at9 = CountAt(9);
        int at10 = CountAt(10);

        // assert
        Assert.Equal(1, at3);
        Assert.Equal(2, at4);
        Assert.Equal(2, at9);
        Assert.Equal(3, at10);
        Assert.False(node.ShutdownRequested);
    }

    [Fact]
    [Trait("spec", "C-25")]
    public async Task Tick_FourthTimedOutCheck_EscalatesToGracefulShutdownCollectorUnresponsive()
    {
        // arrange: restarts at T, T+4 s, T+10 s; the escalation is due at T+18 s.
        LambdaState state = TestStates.NewIdle();
        await using var fixture = new Fixture(state);
        Harness harness = fixture.Harness;
        SupervisorNode node = fixture.Node;
        DateTimeOffset observedAt = harness.Time.GetUtcNow();
        fixture.Hang = true;
        DateTimeOffset t = observedAt + TimeSpan.FromSeconds(20);
        var restartTimes = new List<TimeSpan>();
        int restarts = 0;
        while (harness.Time.GetUtcNow() < t + TimeSpan.FromSeconds(17))
        {
            harness.AdvanceAndStep(TimeSpan.FromMilliseconds(500));
            if (node.CollectorRestartCount != restarts)
            {
                restarts = node.CollectorRestartCount;
                restartTimes.Add(harness.Time.GetUtcNow() - t);
            }
        }

        bool shutdownBefore = node.ShutdownRequested;
        int callsBefore = state.Calls;

        // act
        fixture.StepUntil(t + TimeSpan.FromSeconds(18));

        // assert
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(10)], restartTimes);
        Assert.False(shutdownBefore);
        Assert.True(node.ShutdownRequested);
        Assert.Equal(ShutdownReason.CollectorUnresponsive, node.ShutdownReason);
        Assert.True(node.CollectorDead);
        Assert.NotNull(node.GetError(ErrorSource.Collector));
        Assert.Equal(3, node.CollectorRestartCount);
        Assert.Single(harness.Events("collector_escalated"), r => r.Node() == "w" && r.Level == LogLevel.Error);
        Assert.Equal(callsBefore, state.Calls);

        // The shutdown path runs on the old observation (shutdown bypass); the node stays declared, worker-less, until
        // the root's restart schedule re-creates it at its first failed trial one second later (30-supervision §6).
        harness.AdvanceAndStep(s_second);
        Assert.True(state.Calls > callsBefore);
        Assert.True(node.WorkerDone);
        Assert.Equal(NodeLifecycle.Active, node.Lifecycle);
        Assert.Equal(["w"], harness.Runtime.Root.ListChildren());
        Assert.Equal(CollectorState.Stopped, node.Collector!.State);
        Assert.Single(harness.Events("collector_escalated"));
    }

    [Fact]
    [Trait("spec", "C-27")]
    public async Task C27_FreshObservationAfterTwoRestarts_ResetsCountEvaluatesAndLogsRecovery()
    {
        // arrange: restarts at T and T+4 s.
        LambdaState state = TestStates.NewIdle();
        await using var fixture = new Fixture(state);
        Harness harness = fixture.Harness;
        SupervisorNode node = fixture.Node;
        DateTimeOffset observedAt = harness.Time.GetUtcNow();
        fixture.Hang = true;
        fixture.StepUntil(observedAt + TimeSpan.FromSeconds(24));
        Assert.Equal(2, node.CollectorRestartCount);
        int calls = state.Calls;

        // act: the collector delivers again.
        fixture.Hang = false;
        harness.AdvanceAndStep(s_second);

        // assert
        Assert.Equal(0, node.CollectorRestartCount);
        Assert.Equal(calls + 1, state.Calls);
        Assert.Single(harness.Events("collector_recovered"), r => r.Node() == "w" && r.Level == LogLevel.Information);
        Assert.False(node.ShutdownRequested);

        // The backoff was cleared too: a new timeout restarts at once, and the count starts at 1 again.
        observedAt = harness.Time.GetUtcNow();
        fixture.Hang = true;
        fixture.StepUntil(observedAt + TimeSpan.FromSeconds(20));
        Assert.Equal(1, node.CollectorRestartCount);
    }

    [Fact]
    [Trait("spec", "C-30")]
    public async Task C30_OneOfTwoSiblingCollectorsHangs_OnlyItsRestartCountIncreases()
    {
        // arrange
        int hang = 0;
        LambdaState healthyState = TestStates.NewIdle("healthy-idle");
        await using var harness = new Harness();
        harness.Register("hanging", w =>
        {
            w.InitialState = TestStates.NewIdle("hanging-idle");
            w.OnCollect = (_, ct) => Volatile.Read(ref hang) != 0 ? TestCollect.UntilCancelled(ct) : ValueTask.FromResult(new TestObserved(0));
        });
        harness.Register("healthy", w => w.InitialState = healthyState);
        harness.Configure(Harness.Spec("a", "hanging"), Harness.Spec("b", "healthy"));
        harness.Step(2);
        Volatile.Write(ref hang, 1);
        int healthyCalls = healthyState.Calls;

        // act
        harness.AdvanceAndStep(s_second, ticks: 21);

        // assert
        Assert.Equal(1, harness.Node("a").CollectorRestartCount);
        Assert.Equal(0, harness.Node("b").CollectorRestartCount);
        Assert.Equal(healthyCalls + 21, healthyState.Calls);
        Assert.All(harness.Events("collector_restarted"), r => Assert.Equal("a", r.Node()));
    }

    [Fact]
    [Trait("spec", "C-33")]
    public async Task C33_DeriveNeverSucceeded_NoCollectionAndNoRestartFor30Seconds()
    {
        // arrange
        await using var harness = new Harness();
        harness.Register("t", w => w.OnDerive = _ => throw new FormatException("bad config"));
        harness.Configure(Harness.Spec("w", "t"));

        // act
        harness.Step();
        harness.AdvanceAndStep(s_second, ticks: 30);

        // assert
        SupervisorNode node = harness.Node("w");
        Assert.Equal(0, harness.Workers["w"].CollectCalls);
        Assert.Equal(0, node.CollectorRestartCount);
        Assert.Equal(CollectorState.Created, node.Collector!.State);
        Assert.Empty(harness.Scheduler.Collectors);
        Assert.Empty(harness.Events("collector_restarted"));
        Assert.Equal(ErrorSource.Derive, node.LastError?.Source);
        Assert.False(node.ShutdownRequested);
    }
}
