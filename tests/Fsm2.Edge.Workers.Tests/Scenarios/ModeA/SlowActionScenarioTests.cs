using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// Mode-A scenarios of 60-scenarios driven by <c>test-slow</c> nodes: actions that time out, get stuck and are
/// abandoned (E-28). Fake time throughout.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class SlowActionScenarioTests
{
    private const string Runtime = "runtime: { id: gw-test, profile: x64-gateway, location: { enterprise: acme, site: plant-1 } }";

    [Fact]
    [Trait("spec", "E-28")]
    public async Task E28_TimedOutStuckAndAbandonedActions()
    {
        // arrange
        await using var host = new EdgeTestHost($$"""
            {{Runtime}}
            workers:
              - type: test-slow
                name: coop
                config: |
                  connect_duration: 60s
                  connect_timeout: 5s
                  slow_until: 30s
              - type: test-slow
                name: hung
                config: |
                  connect_duration: forever
                  connect_timeout: 5s
                  slow_until: 30s
            """);
        TestSlowDevice coop = host.SlowEnv.Device("coop");
        TestSlowDevice hung = host.SlowEnv.Device("hung");
        var hungAttemptsAt = new List<(TimeSpan At, int Attempts)>();
        host.Start();

        // act: 25 s, release hung's first action, 25 s more.
        await host.AdvanceAsync(TimeSpan.FromSeconds(25), () => hungAttemptsAt.Add((host.Elapsed, hung.Attempts)));
        double abandonedAt25 = host.Metrics.Value("fsm2_action_abandoned_total");
        Assert.InRange(hung.ParkedForever, 1, 2); // the first run, and the one enqueued after the abandonment
        hung.Release(0);
        await host.AdvanceAsync(TimeSpan.FromSeconds(25), () => hungAttemptsAt.Add((host.Elapsed, hung.Attempts)));

        // assert: coop times out at 5 s, and its next connect waits for the backoff.
        FakeLogRecord[] coopFailures = [.. host.Events("action_failed", "coop")];
        Assert.NotEmpty(coopFailures);
        Assert.Equal("Timeout", EdgeTestHost.Field(coopFailures[0], "Outcome"));
        Assert.InRange(host.At(coopFailures[0]).TotalSeconds, 4.9, 5.6);
        Assert.True(host.Metrics.Value("fsm2_action_timeouts_total") >= 1);
        Assert.Equal(("cancelled", 1), (coop.Completions.First().Outcome, coop.Completions.First().Attempt));

        // hung: no completion at 5 s; stuck (Warning) at 10 s; abandoned (Error) at 15 s.
        Assert.DoesNotContain(host.Events("action_failed", "hung"), r => host.At(r) < TimeSpan.FromSeconds(15));
        FakeLogRecord stuck = host.Events("action_stuck", "hung")[0];
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, stuck.Level);
        Assert.InRange(host.At(stuck).TotalSeconds, 9.9, 10.6);
        FakeLogRecord abandoned = host.Events("action_abandoned", "hung")[0];
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Error, abandoned.Level);
        Assert.InRange(host.At(abandoned).TotalSeconds, 14.9, 15.6);
        Assert.True(abandonedAt25 >= 1);

        // no second connect for hung before the abandonment; one after it (after its backoff).
        Assert.All(hungAttemptsAt.Where(a => a.At < host.At(abandoned)), a => Assert.InRange(a.Attempts, 0, 1));
        TimeSpan second = hungAttemptsAt.First(a => a.Attempts >= 2).At;
        Assert.True(second > host.At(abandoned), $"second connect at {second}");

        // the released first action completes late: discarded, no transition.
        Assert.Contains(hung.Completions, c => c is { Attempt: 1, Outcome: "released" });
        Assert.Equal(1, host.Metrics.Value("fsm2_action_late_completions_total"));
        Assert.DoesNotContain(host.Events("state_transition", "hung"), r => host.At(r) >= TimeSpan.FromSeconds(25) && host.At(r) < TimeSpan.FromSeconds(30));

        // the first attempt after slow_until succeeds at once; both connected by 50 s.
        Assert.Equal("connected", host.State("coop"));
        Assert.Equal("connected", host.State("hung"));
        Assert.True(coop.Connected && hung.Connected);
    }
}
