using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>
/// The infrastructure breaker in the tree (30-supervision §4–§7): health evaluation, health-only mode, propagation,
/// trials, logging levels, restarts and status. Jitter 0, a fixed seed, fake probes at 200 ms, 100 ms tick steps.
/// </summary>
public sealed class BreakerSupervisionTests
{
    private static readonly TimeSpan s_step = TimeSpan.FromMilliseconds(100);
    private static readonly string[] s_breakerEvents = ["breaker_opened", "breaker_trial_failed", "breaker_closed", "child_restarted"];

    /// <summary>Top-level "p" (parent type) declaring the children its config names; leaves idle; fake probes.</summary>
    private sealed class Tree : IAsyncDisposable
    {
        public Tree(RuntimeOptions? options = null, Func<string, IReadOnlyList<ChildSpec>?>? declare = null, ChildSpec? top = null)
        {
            Harness = new Harness(options ?? new RuntimeOptions { BreakerJitter = 0, SupervisionSeed = 42 });
            Probes = FakeProbes.Register(Harness);
            ParentState = TestStates.NewIdle("parent-idle");
            Harness.RegisterParent("parent", declare ?? (c => [.. c.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(n => Spec(n, "leaf"))]),
                w => w.InitialState = ParentState);
            Harness.Register("leaf", w => w.InitialState = LeafStates.GetOrAdd(w.Identity.Id, _ => TestStates.NewIdle("leaf-idle")));
            Harness.Configure(top ?? Spec("p", "parent", "c"));
            Harness.Step(2);
            Harness.AdvanceAndStep(s_step, ticks: 5);
        }

        public Harness Harness { get; }

        public Dictionary<string, FakeProbe> Probes { get; }

        public LambdaState ParentState { get; }

        public System.Collections.Concurrent.ConcurrentDictionary<string, LambdaState> LeafStates { get; } = new();

        public SupervisorNode P => Harness.Node("p");

        public void Steps(int ticks) => Harness.AdvanceAndStep(s_step, ticks);

        /// <summary>Steps until <paramref name="condition"/> holds (at most <paramref name="max"/> steps).</summary>
        public void StepUntil(Func<bool> condition, string what, int max = 2_000)
        {
            for (int i = 0; i < max && !condition(); i++)
            {
                Steps(1);
            }

            Assert.True(condition(), $"never: {what}");
        }

        public ValueTask DisposeAsync() => Harness.DisposeAsync();
    }

    private static int EventsAboveDebug(Harness harness, string name)
        => harness.Events(name).Count(r => r.Level > LogLevel.Debug);

    [Fact]
    [Trait("spec", "S-01")]
    public async Task S01_NodeWithoutChildrenOrProbes_StaysClosedAndLogsNothing()
    {
        // arrange
        await using var tree = new Tree(top: Spec("p", "parent", ""));

        // act
        tree.Steps(100);

        // assert
        Assert.Equal(BreakerState.Closed, tree.P.BreakerState);
        Assert.Equal(NodeMode.Full, tree.P.Mode);
        Assert.All(s_breakerEvents, e => Assert.Equal(0, EventsAboveDebug(tree.Harness, e)));
    }

    [Fact]
    [Trait("spec", "S-02")]
    [Trait("spec", "S-12")]
    public async Task S02_ChildBreakerOpen_ParentOpensNextTickWithoutDeriveOrNext()
    {
        // arrange: c opens on its own probe.
        await using var tree = new Tree(top: Spec("p", "parent", "c"), declare: _ => [Spec("c", "leaf").WithProbe("c-probe")]);
        tree.Probes["c-probe"].Outcome = ProbeOutcome.Refused;
        tree.StepUntil(() => tree.Harness.Node("p/c").BreakerState == BreakerState.Open, "c opens");
        Assert.Equal([new HealthCause(HealthCauseKind.ProbeFailed, "c-probe")], tree.Harness.Node("p/c").BreakerCauses);
        int nextCalls = tree.ParentState.Calls;
        int deriveCalls = tree.Harness.Worker("p").DeriveCalls;

        // act: the parent sees the child's change one tick later (§4.2).
        tree.Harness.Step();

        // assert
        Assert.Equal(BreakerState.Open, tree.P.BreakerState);
        Assert.Equal([new HealthCause(HealthCauseKind.ChildBreakerOpen, "c")], tree.P.BreakerCauses);
        Assert.Equal(nextCalls, tree.ParentState.Calls);
        Assert.Equal(deriveCalls, tree.Harness.Worker("p").DeriveCalls);
        Assert.Equal(NodeMode.HealthOnly, tree.P.Mode);
    }

    [Fact]
    [Trait("spec", "S-03")]
    [Trait("spec", "S-07")]
    public async Task S03_ParentOpen_ChildrenHealthOnlyCollectorsKeepCollectingAndNothingLoggedBeforeTrial()
    {
        // arrange: p opens on its own probe; it declares a and b.
        await using var tree = new Tree(top: Spec("p", "parent", "a,b").WithProbe("p-probe"));
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Refused;
        tree.StepUntil(() => tree.P.BreakerState == BreakerState.Open, "p opens");
        int aCalls = tree.LeafStates["p/a"].Calls;
        int bCalls = tree.LeafStates["p/b"].Calls;
        int collectP = tree.Harness.Worker("p").CollectCalls;
        int collectA = tree.Harness.Worker("p/a").CollectCalls;
        int linesBefore = tree.Harness.Logs.GetSnapshot().Count(r => r.Level > LogLevel.Debug);

        // act: 0.9 s, before the trial at +1 s.
        tree.Steps(9);

        // assert
        Assert.Equal(aCalls, tree.LeafStates["p/a"].Calls);
        Assert.Equal(bCalls, tree.LeafStates["p/b"].Calls);
        Assert.Equal(NodeMode.HealthOnly, tree.Harness.Node("p/a").Mode);
        Assert.Equal("p", tree.Harness.Node("p/a").FrozenBy);
        Assert.True(tree.Harness.Worker("p").CollectCalls > collectP);
        Assert.True(tree.Harness.Worker("p/a").CollectCalls > collectA);
        Assert.Equal(1, tree.P.BreakerAttempts);
        Assert.Equal(linesBefore, tree.Harness.Logs.GetSnapshot().Count(r => r.Level > LogLevel.Debug));
    }

    [Fact]
    [Trait("spec", "S-04")]
    public async Task S04_HealthyTrialAtOneSecond_ClosesLogsOnceCountsAndRunsDeriveAndNext()
    {
        // arrange
        await using var tree = new Tree(top: Spec("p", "parent", "c").WithProbe("p-probe"));
        using var recoveries = new MetricCollector<long>(tree.Harness.Runtime.Metrics.BreakerRecoveries);
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Refused;
        tree.StepUntil(() => tree.P.BreakerState == BreakerState.Open, "p opens");
        DateTimeOffset openedAt = tree.Harness.Time.GetUtcNow();
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Success;
        tree.Steps(9);
        Assert.Equal(BreakerState.Open, tree.P.BreakerState);
        int nextCalls = tree.ParentState.Calls;
        int deriveCalls = tree.Harness.Worker("p").DeriveCalls;

        // act: the tick at +1 s is the trial.
        tree.Steps(1);

        // assert
        Assert.Equal(TimeSpan.FromSeconds(1), tree.Harness.Time.GetUtcNow() - openedAt);
        Assert.Equal(BreakerState.Closed, tree.P.BreakerState);
        Assert.Single(tree.Harness.Events("breaker_closed"), r => r.Node() == "p" && r.Level == LogLevel.Information);
        Assert.Equal(1, recoveries.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(nextCalls + 1, tree.ParentState.Calls);
        Assert.Equal(deriveCalls + 1, tree.Harness.Worker("p").DeriveCalls);
        Assert.Equal(NodeMode.Full, tree.P.Mode);
    }

    [Fact]
    [Trait("spec", "S-08")]
    public async Task S08_SevenFailedEvaluations_OneLineEachAtTheLabelLevelAndOneEscalation()
    {
        // arrange
        await using var tree = new Tree(top: Spec("p", "parent", "").WithProbe("p-probe"));
        using var escalations = new MetricCollector<long>(tree.Harness.Runtime.Metrics.BreakerEscalations);
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Refused;

        // act: 1 + 2 + 4 + 8 + 16 + 32 s of trials after the opening.
        tree.StepUntil(() => tree.P.BreakerAttempts == 7, "attempt 7", max: 1_000);

        // assert
        var lines = tree.Harness.Logs.GetSnapshot()
            .Where(r => r.Id.Name is "breaker_opened" or "breaker_trial_failed" && r.Node() == "p").ToList();
        Assert.Equal(7, lines.Count);
        Assert.Equal("breaker_opened", lines[0].Id.Name);
        Assert.Equal(
            [LogLevel.Warning, LogLevel.Warning, LogLevel.Error, LogLevel.Error, LogLevel.Critical, LogLevel.Error, LogLevel.Error],
            lines.Select(l => l.Level));
        Assert.Equal(
            ["attempting_recovery", "attempting_recovery", "persistent_failure", "persistent_failure", "escalation_imminent", "escalation_imminent", "escalation_imminent"],
            lines.Select(l => l.Field("Label")));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), lines.Select(l => l.Field("Attempt")));
        Assert.Equal(1, escalations.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    [Trait("spec", "S-08")]
    [Trait("spec", "50 §9.3")]
    public async Task Ladder_Attempt4PreEscalationWarning_Attempt5RunbookAndManualStepsPerCause_OthersPlain()
    {
        // arrange
        await using var tree = new Tree(top: Spec("p", "parent", "").WithProbe("p-probe"));
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Refused;

        // act
        tree.StepUntil(() => tree.P.BreakerAttempts == 6, "attempt 6", max: 1_000);

        // assert
        var lines = tree.Harness.Logs.GetSnapshot()
            .Where(r => r.Id.Name is "breaker_opened" or "breaker_trial_failed" && r.Node() == "p").ToList();
        Assert.Equal(6, lines.Count);
        Assert.All(lines, l => Assert.Equal(l.Id.Name == "breaker_opened" ? 6001 : 6002, l.Id.Id));

        // attempt 4: the pre-escalation warning, still Error / persistent_failure.
        Assert.Equal((LogLevel.Error, "persistent_failure", "1"), (lines[3].Level, lines[3].Field("Label"), lines[3].Field("AttemptsUntilEscalation")));
        Assert.Contains("one more failed trial escalates", lines[3].Message, StringComparison.Ordinal);

        // attempt 5: Critical with the runbook and the probe's own manual steps, named by cause.
        Assert.Equal(LogLevel.Critical, lines[4].Level);
        Assert.Equal(EscalationLabels.Runbook, lines[4].Field("Runbook"));
        Assert.Contains("Breaker stuck open", lines[4].Field("Runbook"), StringComparison.Ordinal);
        Assert.Equal("ProbeFailed(p-probe): check the target of probe 'p-probe'", lines[4].Field("ManualSteps"));

        // every other line carries neither.
        foreach (int i in (int[])[0, 1, 2, 5])
        {
            Assert.Null(lines[i].Field("AttemptsUntilEscalation"));
            Assert.Null(lines[i].Field("Runbook"));
            Assert.Null(lines[i].Field("ManualSteps"));
        }

        Assert.Null(lines[4].Field("AttemptsUntilEscalation"));
    }

    [Fact]
    [Trait("spec", "50 §9.3")]
    public void TcpProbe_ManualStepsNameTheTarget()
    {
        // arrange
        var probe = new TcpConnectProbe("plc", "10.0.0.7", 502, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));

        // act
        string steps = ((IInfrastructureProbe)probe).ManualSteps;

        // assert
        Assert.Equal("check that 10.0.0.7:502 accepts TCP connections from the gateway: nc -vz 10.0.0.7 502", steps);
    }

    [Fact]
    [Trait("spec", "S-11")]
    [Trait("spec", "S-41")]
    public async Task S11_ChildrenBAndAOpen_ParentListsAThenBInLogAndStatus()
    {
        // arrange: declared b before a.
        await using var tree = new Tree(top: Spec("p", "parent", "b,a"),
            declare: _ => [Spec("b", "leaf").WithProbe("b-probe"), Spec("a", "leaf").WithProbe("a-probe")]);
        tree.Probes["b-probe"].Outcome = ProbeOutcome.Refused;
        tree.Probes["a-probe"].Outcome = ProbeOutcome.Refused;

        // act: one 300 ms step holds a run of each probe (200 ms ± 10 %), so both children open in the same tick and
        // p opens on both one tick later.
        tree.Harness.AdvanceAndStep(TimeSpan.FromMilliseconds(300));
        Assert.Equal(BreakerState.Closed, tree.P.BreakerState);
        tree.Harness.Step();

        // assert
        string? causes = tree.Harness.Events("breaker_opened").Single(r => r.Node() == "p").Field("Causes");
        Assert.Equal("ChildBreakerOpen(a),ChildBreakerOpen(b)", causes);
        NodeStatus status = tree.Harness.Runtime.Status.Find("p")!;
        Assert.Equal(["ChildBreakerOpen(a)", "ChildBreakerOpen(b)"], status.Breaker.Causes);
        Assert.Equal(BreakerState.Open, status.Breaker.State);
        Assert.Equal(1, status.Breaker.Attempt);
        Assert.Equal("attempting_recovery", status.Breaker.Label);
        Assert.NotNull(status.Breaker.NextTrialAt);
        Assert.InRange(status.Breaker.NextTrialInMs!.Value, 0, 1_000);
        Assert.Equal(NodeMode.HealthOnly, status.Mode);
        Assert.Equal("p", status.FrozenBy);
        NodeStatus a = tree.Harness.Runtime.Status.Find("p/a")!;
        Assert.Equal(NodeMode.HealthOnly, a.Mode);
        Assert.Equal("p", a.FrozenBy); // the topmost open node froze it
    }

    [Fact]
    [Trait("spec", "S-12")]
    public async Task S12_VerdictOlderThanThreeIntervals_CountsAsUnhealthy()
    {
        // arrange: a healthy probe whose runs start to hang.
        await using var tree = new Tree(top: Spec("p", "parent", "").WithProbe("p-probe"));
        tree.Steps(10);
        Assert.Equal(BreakerState.Closed, tree.P.BreakerState);
        tree.Probes["p-probe"].Hang = true;

        // act: 3 × 200 ms after the last verdict, plus the run that hangs.
        tree.StepUntil(() => tree.P.BreakerState == BreakerState.Open, "p opens on a stale verdict", max: 20);

        // assert
        Assert.Equal([new HealthCause(HealthCauseKind.ProbeFailed, "p-probe")], tree.P.BreakerCauses);
    }

    [Fact]
    [Trait("spec", "S-21")]
    public async Task S21_ParentOpenAndConfigAddsChild_CreatedOnlyInTheClosingTick()
    {
        // arrange
        await using var tree = new Tree(top: Spec("p", "parent", "a").WithProbe("p-probe"));
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Refused;
        tree.StepUntil(() => tree.P.BreakerState == BreakerState.Open, "p opens");
        tree.Harness.Configure(Spec("p", "parent", "a,b").WithProbe("p-probe"));
        tree.Steps(5);
        Assert.Null(tree.Harness.Runtime.FindNode("p/b"));

        // act
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Success;
        tree.StepUntil(() => tree.P.BreakerState == BreakerState.Closed, "p closes");

        // assert: created in the same tick in which p closed.
        Assert.NotNull(tree.Harness.Runtime.FindNode("p/b"));
    }

    [Fact]
    [Trait("spec", "S-41")]
    public async Task S41_ChildrenViewHasNoBreakerOrStalenessField()
    {
        // The view a parent's Next sees carries name, type, state and reason only (§1 principle 1).
        string[] fields = [.. typeof(ChildInfo).GetProperties().Select(p => p.Name).Order(StringComparer.Ordinal)];
        Assert.Equal(["Name", "Reason", "State", "WorkerType"], fields);
        await using var tree = new Tree(top: Spec("p", "parent", "c"), declare: _ => [Spec("c", "leaf").WithProbe("c-probe")]);
        tree.Probes["c-probe"].Outcome = ProbeOutcome.Refused;
        tree.StepUntil(() => tree.Harness.Node("p/c").BreakerState == BreakerState.Open, "c opens");
        Assert.Equal("leaf-idle", Assert.Single(tree.P.Children).State);
    }

    [Fact]
    [Trait("spec", "S-18")]
    [Trait("spec", "frozen-subtree")]
    public async Task FrozenSubtree_ParentOpenWhileChildPanicBreakerOpen_ChildStillCloses()
    {
        // arrange: c's Next throws three times (panic breaker opens); p is also open on its own probe.
        int throwing = 3;
        var flaky = new LambdaState("flaky", (self, in s) =>
            Interlocked.Decrement(ref throwing) >= 0 ? throw new TimeoutException("device") : Transition.To(self));
        await using var tree = new Tree(top: Spec("p", "parent", "").WithProbe("p-probe"),
            declare: _ => [Spec("c", "flaky")]);
        tree.Harness.Register("flaky", w => w.InitialState = flaky);
        tree.Harness.Configure(Spec("p", "parent", "x").WithProbe("p-probe"));
        tree.StepUntil(() => tree.Harness.Runtime.FindNode("p/c")?.PanicBreakerOpen == true, "c's panic breaker opens");
        tree.Steps(1);
        Assert.Contains(new HealthCause(HealthCauseKind.ChildPanicBreakerOpen, "c"), tree.P.BreakerCauses);
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Refused;
        int instances = tree.Harness.InstancesCreated("p/c");

        // act: 5 minutes pass with p open the whole time.
        tree.StepUntil(() => !tree.Harness.Node("p/c").PanicBreakerOpen, "c's panic breaker closes under an open parent", max: 3_100);

        // assert: c recovered inside the frozen subtree and was never restarted for its panic breaker (S-18).
        Assert.Equal(BreakerState.Open, tree.P.BreakerState);
        Assert.Single(tree.Harness.Events("panic_breaker_closed"), r => r.Node() == "p/c");
        Assert.Equal(instances, tree.Harness.InstancesCreated("p/c"));
        Assert.Equal(NodeMode.HealthOnly, tree.Harness.Node("p/c").Mode);
        tree.Probes["p-probe"].Outcome = ProbeOutcome.Success;
        tree.StepUntil(() => tree.P.BreakerState == BreakerState.Closed, "p closes once the child is healthy", max: 1_000);
        Assert.Equal(NodeMode.Full, tree.Harness.Node("p/c").Mode);
    }
}
