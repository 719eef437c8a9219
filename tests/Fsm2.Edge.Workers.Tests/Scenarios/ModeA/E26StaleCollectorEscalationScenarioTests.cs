using System.Text.Json;
using Fsm2.Edge.Health;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-26 of 60-scenarios: a simulator whose collections block 60 s during its first 40 s (<c>faults.collector_delay</c>,
/// <c>faults.active_for</c>): stale pause, three collector restarts, escalation, the group's breaker restarts it, and it
/// recovers once the fault window has ended. Mode A, fake time throughout.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E26StaleCollectorEscalationScenarioTests
{
    [Fact]
    [Trait("spec", "E-26")]
    public async Task E26_StaleObservationCollectorEscalationRestart()
    {
        // arrange
        await using var host = new EdgeTestHost("""
            runtime: { id: gw-test, profile: x64-gateway, location: { enterprise: acme, site: plant-1 } }
            workers:
              - type: group
                name: devices
                children:
                  - type: device-simulator
                    name: sim-1
                    config: |
                      device: sim-1
                      tags: [ { name: temperature, kind: constant, value: 70 } ]
                      faults: { collector_delay: 60s, active_for: 40s }
                  - type: device-simulator
                    name: sim-2
                    config: |
                      device: sim-2
                      tags: [ { name: temperature, kind: constant, value: 70 } ]
            """);
        var sim2Modes = new List<(TimeSpan At, NodeMode Mode, string State)>();
        string sim1Topic = host.Monitoring.StatusTopic("devices/sim-1");
        var sim1Statuses = new List<(TimeSpan At, JsonElement Collector)>();
        host.Start();

        // act
        await host.AdvanceAsync(TimeSpan.FromSeconds(120), () =>
        {
            NodeStatus sim2 = host.Runtime.Status.Nodes.First(n => n.Path == "devices/sim-2");
            sim2Modes.Add((host.Elapsed, sim2.Mode, sim2.State));

            // sim-1's published statuses (non-empty), stamped with the fake time they had been received by.
            foreach ((_, string payload, _) in host.Observer.Snapshot(t => t == sim1Topic).Skip(sim1Statuses.Count))
            {
                sim1Statuses.Add((host.Elapsed, payload.Length == 0 ? default : JsonDocument.Parse(payload).RootElement.GetProperty("collector").Clone()));
            }
        });

        // assert: observation_stale at about 10 s; no transition while paused; the status shows the stale pause.
        FakeLogRecord stale = host.Events("observation_stale", "devices/sim-1")[0];
        Assert.InRange(host.At(stale).TotalSeconds, 9.9, 10.6);
        FakeLogRecord restarted = Assert.Single(host.Events("child_restarted", "devices/sim-1"));
        Assert.DoesNotContain(host.Events("state_transition", "devices/sim-1"), r => host.At(r) < host.At(restarted));

        // sim-1's published status shows collector.ageMs >= 10,000 while it has never been observed (before its restart):
        // 10-core-hierarchy §5.2 measures that age from its collector's start; it is also shown stale.
        Assert.Contains(sim1Statuses, s => s.At < host.At(restarted) && s.Collector.ValueKind == JsonValueKind.Object
            && s.Collector.GetProperty("ageMs").ValueKind == JsonValueKind.Number && s.Collector.GetProperty("ageMs").GetDouble() >= 10_000
            && s.Collector.GetProperty("stale").GetBoolean());

        // three collector restarts at T, T+4 s and T+10 s (T = 20 s), then the escalation (Error) at T+18 s.
        double[] restarts = [.. host.Events("collector_restarted", "devices/sim-1").Select(r => host.At(r).TotalSeconds)];
        Assert.Equal(3, restarts.Length);
        Assert.InRange(restarts[0], 19.9, 20.6);
        Assert.InRange(restarts[1], 23.9, 24.6);
        Assert.InRange(restarts[2], 29.9, 30.6);
        FakeLogRecord escalated = Assert.Single(host.Events("collector_escalated", "devices/sim-1"));
        Assert.Equal(LogLevel.Error, escalated.Level);
        Assert.InRange(host.At(escalated).TotalSeconds, 37.9, 38.6);
        Assert.Contains(host.Events("shutdown_requested", "devices/sim-1"), r => EdgeTestHost.Field(r, "Reason") == "collector_unresponsive");
        FakeLogRecord opened = host.Events("breaker_opened", "devices")[0];
        Assert.Contains("ChildCollectorDead(sim-1)", EdgeTestHost.Field(opened, "Causes"), StringComparison.Ordinal);

        // the first failed trial restarts sim-1 (no grace: it never observed, so it signalled NeedsRemoval at once).
        FakeLogRecord firstTrial = host.Events("breaker_trial_failed", "devices")[0];
        Assert.Equal(host.At(firstTrial), host.At(restarted));
        Assert.Empty(host.Events("child_restart_deferred", "devices/sim-1"));

        // once the fault window has ended the new collector is fresh: sim-1 reaches active before 120 s; devices closes.
        Assert.Equal("active", host.State("devices/sim-1"));
        FakeLogRecord closed = Assert.Single(host.Events("breaker_closed", "devices"));
        Assert.True(host.At(closed) > host.At(restarted));

        // sim-2 never changes state once active: frozen (health-only) while devices is open, never restarted.
        TimeSpan sim2Active = sim2Modes.First(m => m.State == "active").At;
        Assert.True(sim2Active < TimeSpan.FromSeconds(3));
        Assert.All(sim2Modes.Where(m => m.At >= sim2Active), m => Assert.Equal("active", m.State));
        Assert.Contains(sim2Modes, m => m.Mode == NodeMode.HealthOnly && m.At > host.At(opened) && m.At < host.At(closed));
        Assert.DoesNotContain(host.Events("state_transition", "devices/sim-2"), r => host.At(r) > sim2Active);
        Assert.Empty(host.Events("child_restarted", "devices/sim-2"));
        Assert.Equal(1, host.Metrics.Value("fsm2_collector_escalations_total", ("node", "devices/sim-1")));
        Assert.Equal(1, host.Metrics.Value("fsm2_child_restarts_total", ("node", "devices/sim-1")));
    }
}
