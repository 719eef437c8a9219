using Fsm2.Edge.Config;
using Fsm2.Edge.Tests.TestSupport;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Tests.Config;

/// <summary>Mapping to ChildSpecs (§3.5, §3.6) and hot reload (§4) on a manual runtime with real files.</summary>
public sealed class ConfigWatcherTests
{
    private const string Base = """
        runtime: { id: gw-1, location: { enterprise: acme }, profile: x64-gateway }
        workers:
          - type: group
            name: lines
            children:
              - { type: worker, name: a }
              - { type: worker, name: b, state: stopped }
          - { type: worker, name: solo }
        """;

    private sealed class Setup : IAsyncDisposable
    {
        public Setup(string yaml)
        {
            Harness = new Harness();
            Harness.Register("worker");
            GroupWorker.Register(Harness.Factory, Groups);
            Path = Files.Write("plant.yaml", yaml);
            // No dry derive here: it creates worker instances through the same registry, which would blur the counts of
            // the runtime's own instances these tests compare.
            Options = new ConfigLoadOptions { Registry = Harness.Factory, Profiles = ConfigTestFiles.ShippedLookup, DryDerive = false };
            ConfigLoadResult result = ConfigLoader.LoadFile(Path, Options);
            Assert.True(result.Succeeded, string.Join("\n", result.Findings));
            Watcher = new ConfigWatcher(result.Config, Options, Harness.Runtime, Groups, Harness.Time,
                Harness.Runtime.TreeLogger); // any category: tests read events by name
            Watcher.ApplyInitial();
            Harness.Step(10);
        }

        public ConfigTestFiles Files { get; } = new();

        public Harness Harness { get; }

        public GroupChildrenTable Groups { get; } = new();

        public ConfigLoadOptions Options { get; }

        public string Path { get; }

        public ConfigWatcher Watcher { get; }

        public async ValueTask DisposeAsync()
        {
            Watcher.Dispose();
            await Harness.DisposeAsync();
            Files.Dispose();
        }
    }

    [Fact]
    public async Task ApplyInitial_GroupChildren_BecomeNodesWithTheSpecMappings()
    {
        // arrange
        await using var s = new Setup(Base);

        // assert
        Assert.Equal(1, s.Watcher.Generation);
        Assert.Equal(new Dictionary<string, string> { ["running"] = "active" }, s.Harness.Node("lines").StateMapping);
        Assert.Equal(new Dictionary<string, string> { ["active"] = "active", ["stopped"] = "stopped" }, s.Harness.Node("lines/a").StateMapping);
        Assert.Equal(new Dictionary<string, string> { ["active"] = "stopped", ["stopped"] = "stopped" }, s.Harness.Node("lines/b").StateMapping);
        Assert.Equal("gw-1", s.Harness.Workers["solo"].LastDerivedSpec!.Variables.User["runtime_id"]);
        Assert.Equal("gw-1", s.Harness.Workers["lines/a"].LastDerivedSpec!.Variables.User["runtime_id"]);
        Assert.Equal("active", s.Harness.Node("lines").CurrentStateName);
    }

    [Fact]
    [Trait("spec", "M-08")]
    public async Task M08_SyntaxErrorSaved_RejectedWithFileLineAndNothingChanges()
    {
        // arrange
        await using var s = new Setup(Base);
        using var reloads = new MetricCollector<long>(s.Harness.Runtime.Metrics.ConfigReloads);
        int derivesBefore = s.Harness.AllWorkers.Sum(w => w.DeriveCalls);
        File.WriteAllText(s.Path, Base.Replace("name: solo }", "name: solo", StringComparison.Ordinal));

        // act
        ConfigReloadOutcome outcome = s.Watcher.ReloadNow();
        s.Harness.Step(3);

        // assert
        Assert.Equal(ConfigReloadKind.Rejected, outcome.Kind);
        FakeLogRecord rejected = Assert.Single(s.Harness.Events("config_reload_rejected"));
        Assert.Contains(s.Path + ":", rejected.Message, StringComparison.Ordinal);
        Assert.Contains("FSM2CFG002", rejected.Message, StringComparison.Ordinal);
        Assert.Equal(1, reloads.GetMeasurementSnapshot().Where(m => (string?)m.Tags["result"] == "rejected").Sum(m => m.Value));
        Assert.Equal(1, s.Watcher.Generation);
        Assert.NotNull(s.Watcher.LastError);
        Assert.Equal(derivesBefore, s.Harness.AllWorkers.Sum(w => w.DeriveCalls));
        Assert.Equal(4, s.Harness.Runtime.LiveWorkerCount);
    }

    [Fact]
    [Trait("spec", "M-09")]
    public async Task M09_OnlyCommentsChange_NoDeriveAndTheGenerationStays()
    {
        // arrange
        await using var s = new Setup(Base);
        int derivesBefore = s.Harness.AllWorkers.Sum(w => w.DeriveCalls);
        File.WriteAllText(s.Path, "# a comment\n" + Base.Replace("name: lines", "name: lines   # the lines", StringComparison.Ordinal));

        // act
        ConfigReloadOutcome outcome = s.Watcher.ReloadNow();
        s.Harness.Step(3);

        // assert
        Assert.Equal(ConfigReloadKind.Unchanged, outcome.Kind);
        Assert.Equal(1, s.Watcher.Generation);
        Assert.Equal(1, s.Harness.Runtime.Metrics.ConfigGenerationValue);
        Assert.Equal(derivesBefore, s.Harness.AllWorkers.Sum(w => w.DeriveCalls));
    }

    [Fact]
    [Trait("spec", "M-10")]
    public async Task M10_BrokerChanged_RestartRequiredLoggedAndOtherChangesApply()
    {
        // arrange
        await using var s = new Setup(Base);
        string changed = Base
            .Replace("profile: x64-gateway }", "profile: x64-gateway, broker: 'mqtt://10.0.0.5:1883' }", StringComparison.Ordinal)
            .Replace("- { type: worker, name: solo }", "- { type: worker, name: solo }\n  - { type: worker, name: added }", StringComparison.Ordinal);
        File.WriteAllText(s.Path, changed);

        // act
        ConfigReloadOutcome outcome = s.Watcher.ReloadNow();
        s.Harness.Step(2);

        // assert
        Assert.Equal(ConfigReloadKind.Applied, outcome.Kind);
        Assert.Equal(["runtime.broker"], outcome.RestartRequiredFields);
        Assert.Contains(outcome.Findings, f => f.Code == ConfigCodes.RestartRequired && f.Severity == FindingSeverity.Warning);
        Assert.Contains("runtime.broker", Assert.Single(s.Harness.Events("config_restart_required")).Message, StringComparison.Ordinal);
        Assert.Equal(2, s.Watcher.Generation);
        Assert.NotNull(s.Harness.Runtime.FindNode("added"));
    }

    [Fact]
    public async Task Reload_OneChildChanged_OnlyThatSubtreeIsTouched()
    {
        // arrange
        await using var s = new Setup(Base);
        TestWorker a = s.Harness.Workers["lines/a"];
        TestWorker solo = s.Harness.Workers["solo"];
        int aDerives = a.DeriveCalls;
        int soloDerives = solo.DeriveCalls;
        File.WriteAllText(s.Path, Base.Replace("{ type: worker, name: b, state: stopped }", "{ type: worker, name: b, variables: { x: 1 } }", StringComparison.Ordinal));

        // act
        ConfigReloadOutcome outcome = s.Watcher.ReloadNow();
        s.Harness.Step(3);

        // assert
        Assert.Equal(new ConfigChangeCounts(0, 1, 0, 0, 3), outcome.Changes);
        Assert.Same(a, s.Harness.Workers["lines/a"]);
        Assert.Equal(aDerives, a.DeriveCalls);
        Assert.Equal(soloDerives, solo.DeriveCalls);
        Assert.Equal(1L, s.Harness.Workers["lines/b"].LastDerivedSpec!.Variables.User["x"]);
    }

    [Fact]
    public async Task Watch_FileSaved_DebouncedThroughTheClockThenApplied()
    {
        // arrange
        await using var s = new Setup(Base);
        var reloaded = new TaskCompletionSource<ConfigReloadOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        s.Watcher.Reloaded += o => reloaded.TrySetResult(o);
        s.Watcher.Start();

        // act
        File.WriteAllText(s.Path, Base.Replace("name: solo", "name: solo2", StringComparison.Ordinal));
        Wait.Until(() => s.Watcher.ChangePending, "the file event");
        Assert.False(reloaded.Task.IsCompleted);
        // One save can raise several file events (truncate, then write); a late one re-arms the debounce from the fake
        // clock's current time, so the clock moves one debounce at a time until the reload has run.
        Wait.Until(
            () =>
            {
                if (!reloaded.Task.IsCompleted)
                {
                    s.Harness.Time.Advance(ConfigWatcher.DefaultDebounce);
                }

                return reloaded.Task.IsCompleted;
            },
            "the debounced reload");
        ConfigReloadOutcome outcome = await reloaded.Task;
        s.Harness.Step(3);

        // assert
        Assert.Equal(ConfigReloadKind.Applied, outcome.Kind);
        Assert.NotNull(s.Harness.Runtime.FindNode("solo2"));
        Assert.Null(s.Harness.Runtime.FindNode("solo"));
    }
}
