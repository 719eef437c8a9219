using Fsm2.Edge.Config;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Tests.TestSupport;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Fsm2.Edge.Tests.Config;

/// <summary>
/// Templated configs on a running runtime (20-templating §2.9, §3; 50-runtime-monitoring §3.5, §4): rendered values,
/// location merged by the runtime from <c>runtime.location</c>, and hot reloads with template errors (E-06, E-07,
/// E-25, T-26).
/// </summary>
public sealed class ConfigTemplateReloadTests
{
    private sealed class Setup : IAsyncDisposable
    {
        public Setup(string yaml)
        {
            Harness = new Harness();
            Harness.Register("worker");
            GroupWorker.Register(Harness.Factory, Groups);
            Path = Files.Write("plant.yaml", yaml);
            // No dry derive: it would create worker instances through the harness registry and replace the runtime's
            // instances in Harness.Workers. The template checks and test renders run regardless.
            Options = new ConfigLoadOptions { Registry = Harness.Factory, Profiles = ConfigTestFiles.ShippedLookup, DryDerive = false };
            ConfigLoadResult result = ConfigLoader.LoadFile(Path, Options);
            Assert.True(result.Succeeded, string.Join("\n", result.Findings));
            Watcher = new ConfigWatcher(result.Config, Options, Harness.Runtime, Groups, Harness.Time, Harness.Runtime.TreeLogger);
            Watcher.ApplyInitial();
            Harness.Step(5);
        }

        public ConfigTestFiles Files { get; } = new();

        public Harness Harness { get; }

        public GroupChildrenTable Groups { get; } = new();

        public ConfigLoadOptions Options { get; }

        public string Path { get; }

        public ConfigWatcher Watcher { get; }

        public string Rendered(string node) => Harness.Workers[node].LastDerivedSpec!.Config;

        public ConfigReloadOutcome Save(string yaml)
        {
            File.WriteAllText(Path, yaml);
            ConfigReloadOutcome outcome = Watcher.ReloadNow();
            Harness.Step(3);
            return outcome;
        }

        public async ValueTask DisposeAsync()
        {
            Watcher.Dispose();
            await Harness.DisposeAsync();
            Files.Dispose();
        }
    }

    private const string Plant = """
        runtime: { id: gw-1, profile: x64-gateway, location: { enterprise: acme, site: plant-1 } }
        global: { api: "https://api.example.com" }
        workers:
          - type: group
            name: line
            variables: { IP: 10.0.0.5, PORT: 502 }
            children:
              - type: worker
                name: pc
                config: |
                  host: "{{ IP }}"
                  port: {{ PORT }}
                  api: "{{ global.api }}"
              - { type: worker, name: other, config: "id: {{ internal.id }}" }
        """;

    [Fact]
    [Trait("spec", "T-26")]
    [Trait("spec", "E-25")]
    public async Task T26_ReloadWithALiquidParseError_RejectedWithFileLineAndThePreviousConfigKeepsRunning()
    {
        // arrange
        await using var s = new Setup(Plant);
        using var reloads = new MetricCollector<long>(s.Harness.Runtime.Metrics.ConfigReloads);
        DateTimeOffset createdAt = s.Harness.Node("line/pc").CreatedAt;
        int derivesBefore = s.Harness.AllWorkers.Sum(w => w.DeriveCalls);
        string broken = Plant.Replace("port: {{ PORT }}", "port: {{ PORT }}\n          greeting: Hello {{ Name }", StringComparison.Ordinal);

        // act
        ConfigReloadOutcome rejected = s.Save(broken);

        // assert: rejected at the template's file line (the block's content starts on line 11; its 3rd line is 13).
        Assert.Equal(ConfigReloadKind.Rejected, rejected.Kind);
        ConfigFinding f = Assert.Single(rejected.Findings);
        Assert.Equal((ConfigCodes.LiquidParse, 13, "workers[line].children[pc].config"), (f.Code, f.Line, f.Path));
        Assert.Contains("at (3:", f.Message, StringComparison.Ordinal);
        Assert.NotNull(s.Watcher.LastError);
        Assert.Contains($"{s.Path}:13:", s.Watcher.LastError!.Message, StringComparison.Ordinal);
        Assert.Contains("FSM2CFG041", s.Watcher.LastError.Message, StringComparison.Ordinal);
        Assert.Contains($"{s.Path}:13:", Assert.Single(s.Harness.Events("config_reload_rejected")).Message, StringComparison.Ordinal);
        Assert.Equal(1, reloads.GetMeasurementSnapshot().Where(m => (string?)m.Tags["result"] == "rejected").Sum(m => m.Value));
        Assert.Equal(1, s.Watcher.Generation);
        Assert.Equal(derivesBefore, s.Harness.AllWorkers.Sum(w => w.DeriveCalls));
        Assert.Equal(3, s.Harness.Runtime.LiveWorkerCount);
        Assert.Equal(createdAt, s.Harness.Node("line/pc").CreatedAt);
        Assert.Equal("host: \"10.0.0.5\"\nport: 502\napi: \"https://api.example.com\"\n", s.Rendered("line/pc"));
    }

    [Fact]
    [Trait("spec", "E-25")]
    public async Task E25_AfterARejectedTemplate_ALaterValidSaveAppliesAndClearsTheError()
    {
        // arrange
        await using var s = new Setup(Plant);
        DateTimeOffset createdAt = s.Harness.Node("line/pc").CreatedAt;
        ConfigReloadOutcome rejected = s.Save(Plant.Replace("host: \"{{ IP }}\"", "host: \"{{ .IP }}\"", StringComparison.Ordinal));

        // act
        ConfigReloadOutcome applied = s.Save(Plant.Replace("IP: 10.0.0.5", "IP: 10.0.0.6", StringComparison.Ordinal));

        // assert
        Assert.Equal(ConfigReloadKind.Rejected, rejected.Kind);
        Assert.Equal(ConfigCodes.GoTemplateSyntax, Assert.Single(rejected.Findings).Code);
        Assert.Equal(ConfigReloadKind.Applied, applied.Kind);
        Assert.Null(s.Watcher.LastError);
        Assert.Equal(2, s.Watcher.Generation);
        Assert.StartsWith("host: \"10.0.0.6\"\n", s.Rendered("line/pc"), StringComparison.Ordinal);
        Assert.Equal(createdAt, s.Harness.Node("line/pc").CreatedAt);
    }

    [Fact]
    [Trait("spec", "E-25")]
    public async Task E25_ReloadWithAMissingVariable_RejectedAtTheReferencingLineAndNothingReDerives()
    {
        // arrange
        await using var s = new Setup(Plant);
        int derivesBefore = s.Harness.AllWorkers.Sum(w => w.DeriveCalls);

        // act: the file drops PORT, which pc's template still references on line 12.
        ConfigReloadOutcome rejected = s.Save(Plant.Replace("IP: 10.0.0.5, PORT: 502", "IP: 10.0.0.7", StringComparison.Ordinal));

        // assert
        Assert.Equal(ConfigReloadKind.Rejected, rejected.Kind);
        ConfigFinding f = Assert.Single(rejected.Findings);
        Assert.Equal((ConfigCodes.MissingVariable, 12, "missing variable 'PORT'"), (f.Code, f.Line, f.Message));
        Assert.Equal(derivesBefore, s.Harness.AllWorkers.Sum(w => w.DeriveCalls));
        Assert.StartsWith("host: \"10.0.0.5\"\n", s.Rendered("line/pc"), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "E-06")]
    public async Task E06_ThreeLevelVariables_GrandparentAndParentValuesRenderAndAReloadReRendersInPlace()
    {
        // arrange
        const string yaml = """
            runtime: { id: gw-1, profile: x64-gateway, location: { enterprise: acme } }
            workers:
              - type: group
                name: site
                variables: { IP: 10.0.0.5, PORT: 502, line_speed: 10 }
                children:
                  - type: group
                    name: line
                    variables: { PORT: 5020 }
                    children:
                      - type: worker
                        name: pc
                        variables: { device: d1 }
                        config: |
                          host: "{{ IP }}"
                          port: {{ PORT }}
                          device_topic: "devices/{{ device }}/#"
                          ids: {{ internal.parent_id }} {{ internal.id }}
            """;
        await using var s = new Setup(yaml);
        DateTimeOffset createdAt = s.Harness.Node("site/line/pc").CreatedAt;
        string before = s.Rendered("site/line/pc");
        IReadOnlyDictionary<string, object?> user = s.Harness.Workers["site/line/pc"].LastDerivedSpec!.Variables.User;

        // act
        ConfigReloadOutcome outcome = s.Save(yaml.Replace("IP: 10.0.0.5", "IP: 10.0.0.6", StringComparison.Ordinal));

        // assert
        Assert.Equal("host: \"10.0.0.5\"\nport: 5020\ndevice_topic: \"devices/d1/#\"\nids: site/line site/line/pc", before); // the file ends without a newline
        Assert.Equal(10L, user["line_speed"]);
        Assert.Equal("d1", user["device"]);
        Assert.Equal(ConfigReloadKind.Applied, outcome.Kind);
        Assert.StartsWith("host: \"10.0.0.6\"\nport: 5020\n", s.Rendered("site/line/pc"), StringComparison.Ordinal);
        Assert.Equal(createdAt, s.Harness.Node("site/line/pc").CreatedAt);
    }

    [Fact]
    [Trait("spec", "E-07")]
    public async Task E07_RuntimeLocation_IsTheRuntimesBaseAndEachNodeMergesItsOwnLevels()
    {
        // arrange
        const string yaml = """
            runtime: { id: gw-1, profile: x64-gateway, location: { enterprise: acme, site: plant-1 } }
            workers:
              - type: group
                name: assembly
                location: { area: assembly }
                children:
                  - { type: worker, name: a, location: { line: line-a, cell: press-1 }, config: "{{ location_path }}" }
                  - { type: worker, name: b, location: { line: line-b }, config: "{{ location_path }}" }
                  - { type: worker, name: c, location: { workcell: w7 }, config: "{{ location_path }}" }
                  - { type: worker, name: d, location: { site: plant-2, line: l9 }, config: "{{ location_path }}" }
            """;
        await using var s = new Setup(yaml);
        DateTimeOffset createdAt = s.Harness.Node("assembly/a").CreatedAt;

        // act: only runtime.location changes.
        ConfigReloadOutcome outcome = s.Save(yaml.Replace("site: plant-1 }", "site: plant-9 }", StringComparison.Ordinal));

        // assert
        Assert.Equal(ConfigReloadKind.Applied, outcome.Kind);
        Assert.Equal(new IsaLocation("acme", "plant-9"), s.Harness.Runtime.BaseLocation);
        Assert.Equal("acme.plant-9.assembly.line-a.press-1", s.Harness.Node("assembly/a").LocationPath);
        Assert.Equal("acme.plant-9.assembly.line-a.press-1", s.Rendered("assembly/a"));
        Assert.Equal("acme.plant-9.assembly.line-b", s.Rendered("assembly/b"));
        Assert.Equal("acme.plant-9.assembly.w7", s.Rendered("assembly/c"));
        Assert.Equal("acme.plant-2.assembly.l9", s.Rendered("assembly/d"));
        Assert.Equal(createdAt, s.Harness.Node("assembly/a").CreatedAt);
    }

    [Fact]
    [Trait("spec", "M-06")]
    public async Task RuntimeLocationWithoutEnterprise_ValidWhenEveryTopLevelEntrySetsOne_AndFoldedIntoThoseEntries()
    {
        // arrange
        const string yaml = """
            runtime: { id: gw-1, profile: x64-gateway, location: { site: plant-1 } }
            workers:
              - { type: worker, name: a, location: { enterprise: acme }, config: "{{ location_path }}" }
              - { type: worker, name: b, location: { enterprise: other, line: l1 }, config: "{{ location_path }}" }
            """;

        // act
        await using var s = new Setup(yaml);

        // assert
        Assert.Equal(IsaLocation.None, s.Harness.Runtime.BaseLocation);
        Assert.Equal("acme.plant-1", s.Rendered("a"));
        Assert.Equal("other.plant-1.l1", s.Rendered("b"));
    }
}
