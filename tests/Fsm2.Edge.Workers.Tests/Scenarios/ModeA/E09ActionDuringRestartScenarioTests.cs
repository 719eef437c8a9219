using Fsm2.Edge.Execution;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-09 of 60-scenarios: a <c>test-slow</c> child whose collector hangs while its <c>connect</c> is in flight. The
/// collector escalates, the parent's breaker restarts the child, and the restart keeps the action (30-supervision §7.2,
/// 40-actions §12.1). Mode A, fake time throughout.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E09ActionDuringRestartScenarioTests
{
    [Fact]
    [Trait("spec", "E-09")]
    public async Task E09_ActionInFlightDuringChildRestart_SurvivesAndItsResultReachesTheNewInstance()
    {
        // arrange
        await using var host = new EdgeTestHost("""
            runtime:
              id: gw-test
              profile: x64-gateway
              location: { enterprise: acme, site: plant-1 }
              overrides: { observation: { stale_ms: 2000, collector_timeout_ms: 4000, timeout_ms: 1000, collector_restart_step_ms: 500 } }
            workers:
              - type: group
                name: g
                children:
                  - type: test-slow
                    name: s
                    config: |
                      connect_duration: 40s
                      slow_until: 25s
                      connect_timeout: 30s
                      collector_hang_from: 1s
                      collector_hang_until: 12s
            """);
        TestSlowDevice s = host.SlowEnv.Device("g/s");
        var attemptsAt = new List<(TimeSpan At, int Attempts, int Completions)>();
        var seen = new List<(int Instance, ActionStatus Action)>();
        host.Start();

        // act
        await host.AdvanceAsync(TimeSpan.FromSeconds(90), () =>
        {
            attemptsAt.Add((host.Elapsed, s.Attempts, s.Completions.Count));
            foreach (KeyValuePair<int, ActionStatus> pair in s.SeenByInstance)
            {
                seen.Add((pair.Key, pair.Value));
            }
        });

        // assert: s enqueues connect at about t = 0, and it stays in flight (no completion) until its timeout.
        TimeSpan firstConnect = attemptsAt.First(a => a.Attempts >= 1).At;
        Assert.True(firstConnect <= TimeSpan.FromSeconds(1), $"first connect at {firstConnect}\n{host.Describe()}");

        // three collector restarts, one escalation; g's breaker opens with ChildCollectorDead(s).
        Assert.Equal(3, host.Events("collector_restarted", "g/s").Count);
        FakeLogRecord escalated = Assert.Single(host.Events("collector_escalated", "g/s"));
        Assert.Equal(LogLevel.Error, escalated.Level);
        FakeLogRecord opened = host.Events("breaker_opened", "g")[0];
        Assert.Contains("ChildCollectorDead(s)", EdgeTestHost.Field(opened, "Causes"), StringComparison.Ordinal);

        // a failed trial restarts s before t = 30 s, while connect is still in flight.
        FakeLogRecord restarted = Assert.Single(host.Events("child_restarted", "g/s"));
        Assert.Equal(LogLevel.Warning, restarted.Level);
        Assert.True(host.At(restarted) > host.At(opened) && host.At(restarted) < TimeSpan.FromSeconds(30), host.Describe());
        Assert.Equal(1, host.Metrics.Value("fsm2_child_restarts_total", ("node", "g/s")));
        Assert.Equal(1, host.Node("g/s").RestartCount);

        // the restart does not cancel connect, and no second connect is enqueued while it runs: one attempt, no
        // completion, until the timeout at 30 s.
        Assert.All(attemptsAt.Where(a => a.At < TimeSpan.FromSeconds(29.9)), a => Assert.Equal((Math.Min(a.Attempts, 1), 0), (a.Attempts, a.Completions)));
        Assert.Contains(host.Events("shutdown_requested", "g/s"), r => EdgeTestHost.Field(r, "Reason") == "collector_unresponsive");

        // at t = 30 s the timeout (outcome Timeout); the first run saw its token cancelled by the timeout, not earlier.
        FakeLogRecord timeout = host.Events("action_failed", "g/s")[0];
        Assert.Equal(("connect", "Timeout"), (EdgeTestHost.Field(timeout, "Action"), EdgeTestHost.Field(timeout, "Outcome")));
        Assert.InRange(host.At(timeout).TotalSeconds, 29.9, 30.6);
        Assert.Equal((1, "cancelled"), s.Completions.First());

        // its result is visible to the new instance: the restarted instance's Next saw the connect in flight, then its
        // Timeout outcome.
        int first = seen.Min(x => x.Instance);
        Assert.Contains(seen, x => x.Instance > first && x.Action.InFlightKind == "connect");
        Assert.Contains(seen, x => x.Instance > first && x.Action is { LastKind: "connect", LastOutcome: ActionOutcome.Timeout });
        Assert.DoesNotContain(seen, x => x.Action.LastOutcome == ActionOutcome.Cancelled);

        // the new collector is fresh (the hang ended at 12 s), so g's breaker closes; s then connects (fast now) with a
        // second connect after the timeout's backoff, and reaches connected. s is never removed.
        FakeLogRecord closed = host.Events("breaker_closed", "g")[^1];
        Assert.True(host.At(closed) > host.At(restarted));
        TimeSpan secondConnect = attemptsAt.First(a => a.Attempts >= 2).At;
        Assert.True(secondConnect > host.At(timeout), $"second connect at {secondConnect}");
        Assert.True(secondConnect - host.At(timeout) <= TimeSpan.FromSeconds(2), $"second connect at {secondConnect}, timeout at {host.At(timeout)}");
        Assert.Equal(2, s.Attempts);
        Assert.Equal("connected", host.State("g/s"));
        Assert.True(s.Connected);
        Assert.Empty(host.Events("node_removing", "g/s"));
    }
}
