using System.Globalization;
using Fsm2.Edge.Config;
using Fsm2.Edge.Health;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-19 of 60-scenarios: the breaker escalation ladder (50 §9.3, 30 §5.2–§5.6). Mode A on PLANT with
/// <c>supervision.jitter: 0</c>; the in-memory broker is stopped for 10 minutes of fake time, then restored.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E19BreakerEscalationScenarioTests
{
    private const string Assembly = "assembly";

    [Fact]
    [Trait("spec", "E-19")]
    public async Task E19_BrokerDownTenMinutes_WholeLadderOneEscalationTrialsNeverStop_FirstTrialAfterRestoreCloses()
    {
        // arrange: PLANT running, every node active.
        var options = new PlantOptions(ConfigRuntime.FreePort(), ConfigRuntime.FreePort()) { Overrides = "{ supervision: { jitter: 0 } }" };
        string plant = ScenarioYaml.Plant(options);
        await using var host = new EdgeTestHost(ScenarioYaml.WithoutConverters(plant));
        host.Start();
        Assert.Equal(ConfigReloadKind.Applied, host.Reload(plant).Kind);
        string[] running = ["devices", "devices/sim-press-1", Assembly, "assembly/pc-press-1", "assembly/pc-press-1/connection", "assembly/pc-press-1/source"];
        await host.AdvanceUntilAsync(() => running.All(p => host.State(p) == "active"), TimeSpan.FromSeconds(20), "PLANT active\n" + host.Describe());
        await host.AdvanceAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(BreakerState.Closed, host.Node(Assembly).BreakerState);
        int mark = host.Logs.GetSnapshot().Count;

        // act 1: the broker goes away (all clients disconnected, connects refused) for 10 minutes.
        host.Broker.Stop();
        DateTimeOffset stoppedAt = host.Time.GetUtcNow();
        long publishedAtStop = host.Broker.PublishedCount;
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        RuntimeStatus outageStatus = host.Runtime.Status;
        long publishedDuringOutage = host.Broker.PublishedCount - publishedAtStop;
        bool monConnectedDuringOutage = host.Mon.IsConnected;

        // act 2: restore; advance until assembly closes.
        host.Broker.Start();
        DateTimeOffset restoredAt = host.Time.GetUtcNow();
        await host.AdvanceUntilAsync(() => host.Node(Assembly).BreakerState == BreakerState.Closed, TimeSpan.FromSeconds(90), "assembly closes\n" + host.Describe());

        // assert: the ladder of assembly, one line per failed evaluation.
        FakeLogRecord[] records = [.. host.Logs.GetSnapshot().Skip(mark)];
        FakeLogRecord[] lines = [.. records.Where(r => r.Id.Name is "breaker_opened" or "breaker_trial_failed" && EdgeTestHost.Field(r, "Node") == Assembly)];
        Assert.True(lines.Length >= 8, "too few ladder lines\n" + host.Describe(80));
        Assert.Equal("breaker_opened", lines[0].Id.Name);
        Assert.All(lines.Skip(1), l => Assert.Equal("breaker_trial_failed", l.Id.Name));
        Assert.Equal(Enumerable.Range(1, lines.Length).Select(i => i.ToString(CultureInfo.InvariantCulture)), lines.Select(l => EdgeTestHost.Field(l, "Attempt")));
        LogLevel[] expectedLevels = [LogLevel.Warning, LogLevel.Warning, LogLevel.Error, LogLevel.Error, LogLevel.Critical, .. Enumerable.Repeat(LogLevel.Error, lines.Length - 5)];
        Assert.Equal(expectedLevels, lines.Select(l => l.Level));
        string[] expectedLabels =
        [
            EscalationLabels.AttemptingRecovery, EscalationLabels.AttemptingRecovery, EscalationLabels.PersistentFailure, EscalationLabels.PersistentFailure,
            .. Enumerable.Repeat(EscalationLabels.EscalationImminent, lines.Length - 4),
        ];
        Assert.Equal(expectedLabels, lines.Select(l => EdgeTestHost.Field(l, "Label")));
        Assert.All(lines, l => Assert.Contains("ProbeFailed(broker-assembly)", EdgeTestHost.Field(l, "Causes"), StringComparison.Ordinal));

        // attempt 4: the pre-escalation warning; attempt 5: Critical with runbook and manual steps naming the probe.
        Assert.Equal("1", EdgeTestHost.Field(lines[3], "AttemptsUntilEscalation"));
        Assert.Contains("one more failed trial escalates", lines[3].Message, StringComparison.Ordinal);
        Assert.Contains("Breaker stuck open", EdgeTestHost.Field(lines[4], "Runbook"), StringComparison.Ordinal);
        string steps = EdgeTestHost.Field(lines[4], "ManualSteps") ?? "";
        Assert.StartsWith("ProbeFailed(broker-assembly): ", steps, StringComparison.Ordinal);
        Assert.Contains("mosquitto_sub -t 'fsm2/gw-press-hall/_health/#' -v", steps, StringComparison.Ordinal);
        Assert.All(lines.Where((_, i) => i != 3), l => Assert.Null(EdgeTestHost.Field(l, "AttemptsUntilEscalation")));
        Assert.All(lines.Where((_, i) => i != 4), l => Assert.Null(EdgeTestHost.Field(l, "Runbook")));

        // trials at +1, +2, +4, +8, +16, +32, +60, +60 … s (jitter 0; a trial fires at the first tick at or after its stamp).
        for (int i = 1; i < lines.Length; i++)
        {
            double expected = Math.Min(Math.Pow(2, i - 1), 60);
            double gap = (lines[i].Timestamp - lines[i - 1].Timestamp).TotalSeconds;
            Assert.InRange(gap, expected, expected + host.TickInterval.TotalSeconds + 1e-6);
        }

        // trials never stop: 14–15 failed evaluations in the 10 minutes; one escalation per episode.
        Assert.InRange(lines.Count(l => l.Timestamp < restoredAt), 14, 15);
        Assert.Equal(1, host.Metrics.Value("fsm2_breaker_escalations_total", ("node", Assembly)));

        // no breaker line of assembly between trials above Debug.
        Assert.Equal(lines.Length, records.Count(r => (r.Id.Name ?? "").StartsWith("breaker_", StringComparison.Ordinal) && r.Level > LogLevel.Debug
            && EdgeTestHost.Field(r, "Node") == Assembly && r.Timestamp < restoredAt));

        // during the outage the published status shows two open breakers (devices too); nothing could be published.
        Assert.Equal(["assembly", "devices"], outageStatus.Nodes.Where(n => n.Breaker.State != BreakerState.Closed).Select(n => n.Path).Order(StringComparer.Ordinal));
        Assert.Equal(0, publishedDuringOutage);
        Assert.False(monConnectedDuringOutage);

        // after restore: the first trial is healthy; breaker_closed reports the attempts and ≈ 600 s open.
        Assert.DoesNotContain(lines, l => l.Timestamp >= restoredAt);
        FakeLogRecord closed = Assert.Single(records, r => r.Id.Name == "breaker_closed" && EdgeTestHost.Field(r, "Node") == Assembly);
        Assert.Equal(LogLevel.Information, closed.Level);
        Assert.Equal(lines.Length.ToString(CultureInfo.InvariantCulture), EdgeTestHost.Field(closed, "Attempts"));
        double openS = double.Parse(EdgeTestHost.Field(closed, "OpenMs")!, CultureInfo.InvariantCulture) / 1000;
        Assert.InRange(openS, 590, 620);
        Assert.True(closed.Timestamp - stoppedAt > TimeSpan.FromMinutes(10));
    }
}
