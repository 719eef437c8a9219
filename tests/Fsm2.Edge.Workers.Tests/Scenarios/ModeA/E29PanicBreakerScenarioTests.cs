using Fsm2.Edge.Health;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-29 of 60-scenarios: a simulator whose <c>Next</c> throws during its first second (<c>faults.next_throws</c>,
/// <c>faults.active_for</c>) opens its panic breaker, which opens the group's breaker; both close again about 5 min
/// later. Mode A, fake time throughout; breaker jitter 0 so the group's trials fall at fixed times.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E29PanicBreakerScenarioTests
{
    [Fact]
    [Trait("spec", "E-29")]
    public async Task E29_PanicBreakerOpensAndCloses()
    {
        // arrange
        await using var host = new EdgeTestHost("""
            runtime:
              id: gw-test
              profile: x64-gateway
              location: { enterprise: acme, site: plant-1 }
              overrides: { supervision: { jitter: 0 } }
            workers:
              - type: group
                name: devices
                children:
                  - type: device-simulator
                    name: sim-bad
                    config: |
                      device: sim-bad
                      tags: [ { name: temperature, kind: constant, value: 70 } ]
                      faults: { next_throws: true, active_for: 1s }
                  - type: device-simulator
                    name: sim-ok
                    config: |
                      device: sim-ok
                      tags: [ { name: temperature, kind: constant, value: 70 } ]
            """);
        var samples = new List<(TimeSpan At, NodeMode BadMode, string BadState, string OkState)>();
        host.Start();

        // act
        await host.AdvanceAsync(TimeSpan.FromMinutes(6), () =>
        {
            NodeStatus bad = host.Runtime.Status.Nodes.First(n => n.Path == "devices/sim-bad");
            samples.Add((host.Elapsed, bad.Mode, bad.State, host.State("devices/sim-ok")));
        });

        // assert: three tick_panic (Error, class bug, site next) within the first second, then panic_breaker_opened.
        FakeLogRecord[] panics = [.. host.Events("tick_panic", "devices/sim-bad")];
        Assert.Equal(3, panics.Length);
        Assert.All(panics, p =>
        {
            Assert.Equal(LogLevel.Error, p.Level);
            Assert.Equal(("bug", "next"), (EdgeTestHost.Field(p, "Class"), EdgeTestHost.Field(p, "Site")));
            Assert.True(host.At(p) < TimeSpan.FromSeconds(1), $"panic at {host.At(p)}");
        });
        FakeLogRecord panicOpened = Assert.Single(host.Events("panic_breaker_opened", "devices/sim-bad"));
        Assert.True(host.At(panicOpened) >= host.At(panics[^1]));
        Assert.Equal(3, host.Metrics.Value("fsm2_panics_total", ("node", "devices/sim-bad"), ("class", "bug"), ("site", "next")));

        // no further Next while open: sim-bad keeps its state and runs health-only until its panic breaker closes.
        FakeLogRecord panicClosed = Assert.Single(host.Events("panic_breaker_closed", "devices/sim-bad"));
        string frozenState = samples.First(s => s.At > host.At(panicOpened)).BadState;
        Assert.All(samples.Where(s => s.At > host.At(panicOpened) && s.At < host.At(panicClosed)), s =>
            Assert.Equal((NodeMode.HealthOnly, frozenState), (s.BadMode, s.BadState)));
        Assert.DoesNotContain(host.Events("state_transition", "devices/sim-bad"), r => host.At(r) > host.At(panicOpened) && host.At(r) < host.At(panicClosed));

        // devices' breaker opens with ChildPanicBreakerOpen(sim-bad); sim-ok keeps its state (frozen), never removed.
        FakeLogRecord opened = host.Events("breaker_opened", "devices")[0];
        Assert.Contains("ChildPanicBreakerOpen(sim-bad)", EdgeTestHost.Field(opened, "Causes"), StringComparison.Ordinal);
        FakeLogRecord closed = Assert.Single(host.Events("breaker_closed", "devices"));
        string okState = samples.First(s => s.At > host.At(opened)).OkState;
        Assert.All(samples.Where(s => s.At > host.At(opened) && s.At < host.At(closed)), s => Assert.Equal(okState, s.OkState));
        Assert.Equal("active", host.State("devices/sim-ok"));
        Assert.Empty(host.Events("node_removing", "devices/sim-ok"));
        Assert.Empty(host.Events("child_restarted"));

        // about 5 min after the last panic: panic_breaker_closed; devices' next trial is healthy and closes; only then does
        // sim-bad run in full mode, its Next no longer throws, and it reaches active.
        Assert.InRange((host.At(panicClosed) - host.At(panics[^1])).TotalSeconds, 299.9, 300.6);
        Assert.True(host.At(closed) >= host.At(panicClosed));
        Assert.DoesNotContain(host.Events("breaker_trial_failed", "devices"), r => host.At(r) > host.At(panicClosed));
        Assert.All(samples.Where(s => s.At < host.At(closed) && s.At > host.At(panicOpened)), s => Assert.Equal(NodeMode.HealthOnly, s.BadMode));
        FakeLogRecord active = Assert.Single(host.Events("state_transition", "devices/sim-bad"), r => EdgeTestHost.Field(r, "To") == "active");
        Assert.True(host.At(active) >= host.At(closed));
        Assert.Equal("active", host.State("devices/sim-bad"));
        Assert.Equal(3, host.Events("tick_panic", "devices/sim-bad").Count);
    }
}
