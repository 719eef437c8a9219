using Fsm2.Edge.Config;
using Fsm2.Edge.Health;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// E-24 of 60-scenarios: a fleet-only variable that is missing at startup and arrives later (20 retry rule; 10
/// §4.3–§4.4; 50 §2.4, §3.8, §6.6). Mode A, fleet mode, PLANT with <c>port: {{ global.plc_port }}</c> on pc-press-1.
/// </summary>
[Collection(ModeAScenarios.Name)]
public sealed class E24MissingFleetVariableScenarioTests
{
    private const string Pc = "assembly/pc-press-1";

    [Fact]
    [Trait("spec", "E-24")]
    public async Task E24_MissingFleetVariable_042Warning_StartsAfterFiveSeconds_OneDeriveFailure_DerivesOnTheTickAfterTheGlobal()
    {
        // arrange
        int devicePort = ConfigRuntime.FreePort();
        // PLANT in fleet mode; pc-press-1's port comes from the fleet.
        var options = new PlantOptions(devicePort, ConfigRuntime.FreePort()) { Fleet = "press-hall", Pc1PortFromFleet = true };
        await using var host = new EdgeTestHost(ScenarioYaml.Plant(options));

        // act 1: validate the file.
        ConfigLoadResult validation = ConfigLoader.LoadFile(host.File, host.LoadOptions);

        // assert 1: one FSM2CFG042 warning naming global.plc_port; no error (validate exits 0).
        Assert.True(validation.Succeeded, string.Join("\n", validation.Findings));
        Assert.DoesNotContain(validation.Findings, f => f.IsError);
        ConfigFinding missing = Assert.Single(validation.Findings, f => f.Code == ConfigCodes.MissingVariable);
        Assert.Equal(FindingSeverity.Warning, missing.Severity);
        Assert.Contains("global.plc_port", missing.Message, StringComparison.Ordinal);
        Assert.Contains("warning FSM2CFG042", missing.ToString(), StringComparison.Ordinal);

        // act 2: start (the fleet topic is empty), then 10 s.
        DateTimeOffset startedAt = host.Time.GetUtcNow();
        bool received = await host.StartFleetAsync();
        TimeSpan waited = host.Time.GetUtcNow() - startedAt;
        await host.AdvanceAsync(TimeSpan.FromSeconds(10));

        // assert 2: the startup waited the whole 5 s, then started anyway; nothing ticked meanwhile.
        Assert.False(received);
        Assert.Equal(TimeSpan.FromSeconds(5), waited);
        FakeLogRecord waitEnded = Assert.Single(host.Events("fleet_global_wait_ended"));
        Assert.Equal(("False", "5000"), (EdgeTestHost.Field(waitEnded, "Received"), EdgeTestHost.Field(waitEnded, "WaitedMs")));
        Assert.All(host.Events("node_added"), r => Assert.True(r.Timestamp >= startedAt + TimeSpan.FromSeconds(5)));

        // pc-press-1 exists without an accepted derive: initial state, no children, a config error naming the variable.
        SupervisorNode pc = host.Node(Pc);
        Assert.Empty(host.StatePath(Pc));
        Assert.All((string[])["connection", "source", "sink"], c => Assert.Null(pc.GetChild(c)));
        Assert.NotNull(pc.LastError);
        Assert.Equal(PanicClass.Config, pc.LastError!.Class);
        Assert.Contains("global.plc_port", pc.LastError.Message, StringComparison.Ordinal);

        // one derive_failed over the 10 s; not retried while the inputs are unchanged.
        FakeLogRecord failed = Assert.Single(host.Events("derive_failed", Pc));
        Assert.Equal(LogLevel.Warning, failed.Level);
        Assert.Contains("global.plc_port", failed.Message, StringComparison.Ordinal);
        Assert.Equal(1, host.Metrics.Value("fsm2_derive_total", ("node", Pc), ("result", "error")));

        // the other nodes are unaffected.
        Assert.All((string[])["devices", "devices/sim-press-1", "assembly"], p => Assert.Equal("active", host.State(p)));

        // act 3: the fleet variable arrives; one tick.
        await host.PublishFleetAsync($$$"""{"version":1,"variables":{"plc_port":{{{devicePort}}}}}""");
        await host.AdvanceAsync(host.TickInterval);

        // assert 3: that tick derived successfully, created the three children and cleared the error.
        Assert.All((string[])["connection", "source", "sink"], c => Assert.NotNull(pc.GetChild(c)));
        Assert.Null(pc.LastError);
        Assert.Equal(1, host.Metrics.Value("fsm2_derive_total", ("node", Pc), ("result", "error")));
        Assert.True(host.Metrics.Value("fsm2_derive_total", ("node", Pc), ("result", "ok")) >= 1);

        // within 3 s pc-press-1 is active.
        await host.AdvanceUntilAsync(() => host.State(Pc) == "active", TimeSpan.FromSeconds(3), "pc-press-1 active\n" + host.Describe());
        Assert.Single(host.Events("derive_failed", Pc));
    }
}
