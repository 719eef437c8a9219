using System.Globalization;
using System.Text.Json;
using Fsm2.Edge.Collection;
using Fsm2.Edge.Health;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-11 of 60-scenarios: child failure isolation (10 §4.4, §11.1; 30 §5.1; 40 §11). Mode A, fleet mode with an empty
/// fleet topic. Group <c>devices</c> holds two healthy simulators and three failing ones: one whose derive fails, one
/// whose start action always fails and one whose collections throw for its first 15 s. Each failure stays on its own
/// node; the group and the healthy siblings never notice, and nothing is removed, replaced or restarted.
/// </summary>
/// <remarks>The profile's action backoff jitter (±20 %, x64-gateway) stays on: the backoff assertions accept every
/// jittered delay in [0.8·d, min(1.2·d, 60 s)], so they hold for any seed.</remarks>
[Collection(ModeAScenarios.Name)]
public sealed class E11ChildFailureIsolationScenarioTests
{
    private const string Devices = "devices";
    private const string Good1 = "devices/good-1";
    private const string Good2 = "devices/good-2";
    private const string BadDerive = "devices/bad-derive";
    private const string BadAction = "devices/bad-action";
    private const string BadCollect = "devices/bad-collect";

    // Tolerance on a fake-time instant measured at tick resolution: the rounding up to the next tick (100 ms), the tick
    // that applies an action's completion, and the collection that follows it.
    private static readonly TimeSpan s_tickSlack = TimeSpan.FromMilliseconds(300);

    [Fact]
    [Trait("spec", "E-11")]
    public async Task E11_ChildFailureIsolation_FailuresStayOnTheirNodes_GroupAndSiblingsUnaffected_NothingRemovedOrRestarted()
    {
        // arrange: fleet mode, the fleet topic stays empty (the startup wait passes, validation only warned).
        await using var host = new EdgeTestHost(Config);
        Assert.False(await host.StartFleetAsync());
        SupervisorRuntime runtime = host.Runtime;
        TimeSpan? firstTick = null;
        DateTimeOffset firstTickAt = default;
        long previousRuntimeTicks = runtime.TickCount;
        long previousDevicesTicks = 0;
        var devicesTickGaps = new List<(TimeSpan At, long Runtime, long Devices)>();
        var breakerNotClosed = new List<(TimeSpan At, BreakerState State)>();
        var badActionStates = new HashSet<string>(StringComparer.Ordinal);
        var badActionAttempts = new List<(TimeSpan At, int Attempt)>();

        // act: 10 min of fake time from the first tick.
        await host.AdvanceAsync(TimeSpan.FromMinutes(10), () =>
        {
            TimeSpan now = host.Elapsed;
            if (firstTick is null)
            {
                (firstTick, firstTickAt) = (now, host.Time.GetUtcNow());
            }

            SupervisorNode devices = host.Node(Devices);
            long runtimeTicks = runtime.TickCount;
            long devicesTicks = devices.TickCount;
            if (runtimeTicks - previousRuntimeTicks != 1 || (now > firstTick && devicesTicks - previousDevicesTicks != 1))
            {
                devicesTickGaps.Add((now, runtimeTicks - previousRuntimeTicks, devicesTicks - previousDevicesTicks));
            }

            (previousRuntimeTicks, previousDevicesTicks) = (runtimeTicks, devicesTicks);
            if (devices.BreakerState != BreakerState.Closed)
            {
                breakerNotClosed.Add((now, devices.BreakerState));
            }

            if (now - firstTick > TimeSpan.FromSeconds(3))
            {
                _ = badActionStates.Add(host.State(BadAction));
            }

            if (runtime.Status.Nodes.First(n => n.Path == BadAction).Action is { } action)
            {
                badActionAttempts.Add((now, action.Attempt));
            }
        });
        TimeSpan t0 = firstTick!.Value;

        // assert: good-1 and good-2 reach active within 3 s of the first tick and never transition again.
        foreach (string good in (string[])[Good1, Good2])
        {
            Assert.Equal("active", host.State(good));
            FakeLogRecord[] transitions = [.. host.Events("state_transition", good)];
            FakeLogRecord reachedActive = Assert.Single(transitions, r => EdgeTestHost.Field(r, "To") == "active");
            Assert.True(host.At(reachedActive) - t0 <= TimeSpan.FromSeconds(3), $"{good} active at {host.At(reachedActive) - t0}\n{host.Describe()}");
            Assert.Same(reachedActive, transitions[^1]);
        }

        // devices is ticked on every tick (TickCount +1 per runtime tick) and its breaker stays Closed throughout.
        Assert.True(devicesTickGaps.Count == 0, "ticks without exactly one devices tick: " + string.Join(", ", devicesTickGaps.Take(10)));
        Assert.Equal(6000, host.Node(Devices).TickCount);
        Assert.True(breakerNotClosed.Count == 0, "devices breaker not Closed: " + string.Join(", ", breakerNotClosed.Take(10)));
        Assert.Empty(host.Events("breaker_opened", Devices));
        Assert.Equal(0, host.Node(Devices).BreakerAttempts);
        Assert.Equal("active", host.State(Devices));

        // bad-derive: no accepted derive (no desired state, never evaluated, initial state), a config error naming
        // global.nonexistent on its node and in its retained status, one derive_failed, one failed derive counted.
        SupervisorNode badDerive = host.Node(BadDerive);
        Assert.Null(badDerive.Desired);
        Assert.Empty(host.StatePath(BadDerive));
        Assert.True(badDerive.Collector is null or { State: CollectorState.Created }, $"bad-derive collector {badDerive.Collector?.State}");
        NodeError deriveError = badDerive.LastError ?? throw new Xunit.Sdk.XunitException("bad-derive has no error\n" + host.Describe());
        Assert.Equal((ErrorSource.Derive, (PanicClass?)PanicClass.Config), (deriveError.Source, deriveError.Class));
        Assert.Contains("global.nonexistent", deriveError.Message, StringComparison.Ordinal);
        using (JsonDocument status = JsonDocument.Parse(host.Broker.Retained(host.Monitoring.TopicPrefix + "/status/" + BadDerive) ?? throw new Xunit.Sdk.XunitException("no retained status of bad-derive")))
        {
            JsonElement lastError = status.RootElement.GetProperty("lastError");
            Assert.Equal("config", lastError.GetProperty("class").GetString());
            Assert.Contains("global.nonexistent", lastError.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        FakeLogRecord deriveFailed = Assert.Single(host.Events("derive_failed", BadDerive));
        Assert.Equal(LogLevel.Warning, deriveFailed.Level);
        Assert.Contains("global.nonexistent", deriveFailed.Message, StringComparison.Ordinal);
        Assert.Equal(1, host.Metrics.Value("fsm2_derive_total", ("node", BadDerive), ("result", "error")));
        Assert.Equal(0, host.Metrics.Value("fsm2_derive_total", ("node", BadDerive), ("result", "ok")));
        Assert.Empty(host.Events("tick_panic", BadDerive));

        // bad-action: stays trying_to_start; each start fails once, with the per-worker backoff between attempts.
        Assert.Equal(["trying_to_start"], badActionStates);
        Assert.Equal(["stopped", "trying_to_start"], host.StatePath(BadAction));
        FakeLogRecord[] failures = [.. host.Events("action_failed", BadAction)];
        // (the simulated failure is an InvalidOperationException: class Bug, so the outcome is Panic, 40 §2.)
        Assert.All(failures, f => Assert.Equal(("start_publishing", "Panic"), (EdgeTestHost.Field(f, "Action"), EdgeTestHost.Field(f, "Outcome"))));

        // one attempt at a time: the k-th failure is the simulator's k-th start attempt, and the attempt in flight is
        // numbered by the consecutive failures before it.
        for (int k = 0; k < failures.Length; k++)
        {
            Assert.Contains($"simulated start failure {k + 1} of 1000", EdgeTestHost.Field(failures[k], "Error"), StringComparison.Ordinal);
        }

        Assert.All(badActionAttempts, a => Assert.InRange(a.Attempt, 1, failures.Length + 1));
        Assert.Equal(badActionAttempts.Select(a => a.Attempt).Order(), badActionAttempts.Select(a => a.Attempt));

        // the gap after the k-th consecutive failure is jitter(min(1 s × 2^(k−1), 60 s)), rounded up to the tick.
        double[] at = [.. failures.Select(f => (host.At(f) - t0).TotalSeconds)];
        string timeline = string.Join(", ", at.Select(s => s.ToString("F1", CultureInfo.InvariantCulture)));
        Assert.True(at[0] <= 3, $"first start attempt at {at[0]} s");
        for (int k = 1; k < at.Length; k++)
        {
            double delay = Math.Min(Math.Pow(2, k - 1), 60);
            double gap = at[k] - at[k - 1];
            Assert.True(
                gap >= 0.8 * delay && gap <= Math.Min(1.2 * delay, 60) + s_tickSlack.TotalSeconds,
                $"gap {k}: {gap:F2} s, expected jitter({delay} s) in [{0.8 * delay}, {Math.Min(1.2 * delay, 60)}] s; failures at {timeline}");
        }

        // 1+2+4+…+32 = 63 s (±20 %) before the cap, then 48–60 s apart: the backoff reached its cap and kept retrying.
        Assert.InRange(failures.Length, 14, 20);
        Assert.True(600 - at[^1] <= 60 + s_tickSlack.TotalSeconds, $"no retry in the last {600 - at[^1]:F1} s; failures at {timeline}");

        // bad-collect: observation_stale at about 10 s (never observed, its collector ran StaleThreshold), observation_fresh
        // at about 15 s (the fault window ends), then active; its collector is never restarted.
        FakeLogRecord stale = Assert.Single(host.Events("observation_stale", BadCollect));
        Assert.InRange((host.At(stale) - t0).TotalSeconds, 9.9, 10.0 + s_tickSlack.TotalSeconds);
        FakeLogRecord fresh = Assert.Single(host.Events("observation_fresh", BadCollect));
        Assert.InRange((host.At(fresh) - t0).TotalSeconds, 14.9, 16.0 + s_tickSlack.TotalSeconds);
        Assert.NotEmpty(host.Events("collection_failed", BadCollect));
        Assert.Equal("active", host.State(BadCollect));
        Assert.Equal(["stopped", "trying_to_start", "active"], host.StatePath(BadCollect));
        Assert.True(host.At(host.Events("state_transition", BadCollect)[0]) >= host.At(fresh), "bad-collect transitioned before its first observation");
        Assert.Empty(host.Events("collector_restarted", BadCollect));
        Assert.Equal(0, host.Node(BadCollect).CollectorRestartCount);
        Assert.Equal(0, host.Metrics.Value("fsm2_collector_restarts_total"));

        // no node is removed, replaced or restarted; the six nodes added at the first tick are the ones still running.
        Assert.Equal(6, host.Metrics.Value("fsm2_reconcile_operations_total", ("operation", "add")));
        Assert.Equal(0, host.Metrics.Value("fsm2_reconcile_operations_total", ("operation", "remove")));
        Assert.Equal(0, host.Metrics.Value("fsm2_reconcile_operations_total", ("operation", "replace")));
        Assert.Equal(0, host.Metrics.Value("fsm2_child_restarts_total"));
        Assert.Equal(0, host.Metrics.Value("fsm2_node_restarts_total"));
        Assert.Empty(host.Events("node_removing"));
        Assert.Empty(host.Events("child_restarted"));
        Assert.Equal(
            ["bad-action", "bad-collect", "bad-derive", "good-1", "good-2"],
            host.Node(Devices).ListChildren().Order(StringComparer.Ordinal));
        foreach (string path in (string[])[Good1, Good2, BadDerive, BadAction, BadCollect])
        {
            SupervisorNode node = host.Node(path);
            Assert.Equal((0, NodeLifecycle.Active), (node.RestartCount, node.Lifecycle));
            Assert.Equal(firstTickAt, node.CreatedAt);
        }
    }

    private static string Config => """
        runtime:
          id: gw-test
          profile: x64-gateway
          location: { enterprise: acme, site: plant-1 }
          fleet: { name: e11 }
        workers:
          - type: group
            name: devices
            children:
              - type: device-simulator
                name: good-1
                config: |
                  device: good-1
                  tags: [ { name: temperature, kind: constant, value: 70 } ]
              - type: device-simulator
                name: good-2
                config: |
                  device: good-2
                  tags: [ { name: temperature, kind: constant, value: 70 } ]
              - type: device-simulator
                name: bad-derive
                config: |
                  device: "{{ global.nonexistent }}"
                  tags: [ { name: temperature, kind: constant, value: 70 } ]
              - type: device-simulator
                name: bad-action
                config: |
                  device: bad-action
                  tags: [ { name: temperature, kind: constant, value: 70 } ]
                  faults: { start_failures: 1000 }
              - type: device-simulator
                name: bad-collect
                config: |
                  device: bad-collect
                  tags: [ { name: temperature, kind: constant, value: 70 } ]
                  faults: { collect_throws: true, active_for: 15s }
        """;
}
