using Fsm2.Edge.Config;
using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Config;

/// <summary>
/// <c>probes:</c> entries from the file to the runtime (50-runtime-monitoring §3.4, §3.8 FSM2CFG056; 30-supervision
/// §10.1, §10.4): the mapping onto <see cref="ChildSpec.Probes"/>, the target rule of <c>mqtt</c> probes, and the
/// validation errors with file, line and field.
/// </summary>
public sealed class ConfigProbeTests
{
    private static ConfigLoadOptions Options()
    {
        var factory = new WorkerFactory();
        GroupWorker.Register(factory, new GroupChildrenTable());
        factory.Register<TestObserved, string>("connection", id => new TestWorker(id));
        return new ConfigLoadOptions { Registry = factory, Profiles = ConfigTestFiles.ShippedLookup, DryDerive = false };
    }

    private static ConfigLoadResult Load(string yaml) => ConfigLoader.Parse(yaml, "plant.yaml", Options());

    private static EdgeConfig LoadValid(string yaml)
    {
        ConfigLoadResult result = Load(yaml);
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        return result.Config;
    }

    private static string Tree(string broker, string probes) => $$"""
        runtime: { id: gw-1, profile: x64-gateway, broker: '{{broker}}', location: { enterprise: acme } }
        workers:
          - type: group
            name: assembly
            probes: {{probes}}
            children:
              - type: connection
                name: pc-1
                probes: [ { type: tcp, id: plc-1, target: "10.0.0.7:502", interval: 5s, timeout: 2s, miss_threshold: 4 } ]
        """;

    private static ChildSpec GroupChild(ConfigDeclaration declaration, string group, string child)
    {
        ChildSpec groupSpec = Assert.Single(declaration.TopLevel, s => s.Name == group);
        return Assert.Single(declaration.GroupChildren[groupSpec.UserSpec.Config], s => s.Name == child);
    }

    [Fact]
    public void Build_MqttProbeWithoutTarget_OnTheEmbeddedBroker_TargetsEmbeddedWithProfileDefaultsLeftToTheRuntime()
    {
        // arrange
        EdgeConfig config = LoadValid(Tree("embedded", "[ { type: mqtt, id: broker-assembly } ]"));

        // act
        var declaration = ConfigDeclaration.Build(config);

        // assert
        ProbeSpec probe = Assert.Single(Assert.Single(declaration.TopLevel).Probes!);
        Assert.Equal(new ProbeSpec("mqtt", "broker-assembly", "embedded"), probe);
    }

    [Fact]
    public void Build_MqttProbeWithoutTarget_OnAnExternalBroker_TargetsTheRuntimeBrokerUrl()
    {
        // arrange
        EdgeConfig config = LoadValid(Tree("mqtt://10.0.0.1", "[ { type: mqtt, id: broker-assembly } ]"));

        // act
        var declaration = ConfigDeclaration.Build(config);

        // assert: the default port is filled in, as the runtime's own clients use it.
        Assert.Equal("mqtt://10.0.0.1:1883", Assert.Single(Assert.Single(declaration.TopLevel).Probes!).Target);
    }

    [Fact]
    public void Build_MqttProbeWithExplicitTarget_OverridesTheRuntimeBroker()
    {
        // arrange
        EdgeConfig config = LoadValid(Tree("embedded", "[ { type: mqtt, id: site-broker, target: 'mqtts://broker.site' } ]"));

        // act
        var declaration = ConfigDeclaration.Build(config);

        // assert
        Assert.Equal("mqtts://broker.site:8883", Assert.Single(Assert.Single(declaration.TopLevel).Probes!).Target);
    }

    [Fact]
    public void Build_NestedTcpProbe_ReachesTheChildSpecWithItsTimings()
    {
        // arrange
        EdgeConfig config = LoadValid(Tree("embedded", "[]"));

        // act
        var declaration = ConfigDeclaration.Build(config);

        // assert
        Assert.Null(Assert.Single(declaration.TopLevel).Probes);
        ChildSpec pc = GroupChild(declaration, "assembly", "pc-1");
        Assert.Equal(new ProbeSpec("tcp", "plc-1", "10.0.0.7:502", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), 4), Assert.Single(pc.Probes!));
    }

    [Fact]
    public void Build_ChildProbeChanged_ChangesTheGroupFingerprintSoTheGroupRederives()
    {
        // arrange
        string before = Tree("embedded", "[]");
        string after = before.Replace("miss_threshold: 4", "miss_threshold: 5", StringComparison.Ordinal);

        // act
        string fingerprintBefore = Assert.Single(ConfigDeclaration.Build(LoadValid(before)).TopLevel).UserSpec.Config;
        string fingerprintAfter = Assert.Single(ConfigDeclaration.Build(LoadValid(after)).TopLevel).UserSpec.Config;

        // assert
        Assert.NotEqual(fingerprintBefore, fingerprintAfter);
    }

    [Fact]
    public void Build_WithTheStartedBroker_AReloadThatChangesRuntimeBrokerDoesNotRetargetProbes()
    {
        // arrange: the runtime started on the embedded broker; the saved file now names another broker (restart-only).
        EdgeConfig started = LoadValid(Tree("embedded", "[ { type: mqtt, id: broker-assembly } ]"));
        EdgeConfig reloaded = LoadValid(Tree("mqtt://127.0.0.1:1", "[ { type: mqtt, id: broker-assembly } ]"));

        // act
        var declaration = ConfigDeclaration.Build(reloaded, started.Runtime.Broker);

        // assert
        Assert.Equal("embedded", Assert.Single(Assert.Single(declaration.TopLevel).Probes!).Target);
    }

    public static TheoryData<string, string, int, int, string, string> InvalidProbes => new()
    {
        {
            "embedded", "[ { type: mqtt, id: b1, target: 'http://x:1' } ]", 5, 45, "workers[assembly].probes[#1].target",
            "target 'http://x:1' must be 'embedded', mqtt://host:port or mqtts://host:port (omit it to probe the runtime's broker)"
        },
        {
            "mqtt://10.0.0.1:1883", "[ { type: mqtt, id: b1, target: embedded } ]", 5, 45, "workers[assembly].probes[#1].target",
            "target 'embedded' needs runtime.broker: embedded, but this runtime connects to mqtt://10.0.0.1:1883; omit the target to probe that broker"
        },
        {
            "embedded", "[ { type: mqtt, id: 'bad id' } ]", 5, 33, "workers[assembly].probes[#1].id",
            "probe id 'bad id' must match ^[A-Za-z0-9_.-]{1,64}$"
        },
        {
            "embedded", "[ { type: mqtt, id: b1, timeout: 3s } ]", 5, 46, "workers[assembly].probes[#1].timeout",
            "timeout 3000ms must be shorter than the profile's probe interval 2000ms"
        },
        {
            "embedded", "[ { type: mqtt, id: plc-1 } ]", 9, 36, "workers[assembly].children[pc-1].probes[#1].id",
            "probe id 'plc-1' is already used by workers[assembly]"
        },
    };

    [Theory]
    [MemberData(nameof(InvalidProbes))]
    public void Parse_InvalidProbe_Fsm2Cfg056NamesFileLineColumnAndField(string broker, string probes, int line, int column, string path, string message)
    {
        // act
        ConfigLoadResult result = Load(Tree(broker, probes));

        // assert
        Assert.False(result.Succeeded);
        ConfigFinding finding = Assert.Single(result.Findings, f => f.IsError);
        Assert.Equal(("plant.yaml", line, column, ConfigCodes.InvalidProbe, path, message),
            (finding.File, finding.Line, finding.Column, finding.Code, finding.Path, finding.Message));
        Assert.StartsWith($"plant.yaml:{line}:{column}: error FSM2CFG056: {path}: ", finding.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_FileProbes_AreAttachedToTheirNodesWithTheResolvedTarget()
    {
        // arrange: a runtime whose mqtt probe type records what it is asked to build.
        await using var harness = new Harness();
        harness.Register("connection");
        var groups = new GroupChildrenTable();
        GroupWorker.Register(harness.Factory, groups);
        var built = new List<ProbeSpec>();
        harness.Runtime.Probes.Register("mqtt", (spec, _) => Record(spec));

        using var files = new ConfigTestFiles();
        string path = files.Write("plant.yaml", Tree("embedded", "[ { type: mqtt, id: broker-assembly } ]")
            .Replace("type: tcp, id: plc-1, target: \"10.0.0.7:502\"", "type: mqtt, id: plc-1, target: 'mqtt://10.0.0.7'", StringComparison.Ordinal));
        var options = new ConfigLoadOptions { Registry = harness.Factory, Profiles = ConfigTestFiles.ShippedLookup, DryDerive = false };
        ConfigLoadResult result = ConfigLoader.LoadFile(path, options);
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        using var watcher = new ConfigWatcher(result.Config, options, harness.Runtime, groups, harness.Time);

        // act
        watcher.ApplyInitial();
        harness.Step(5);

        // assert
        Assert.Equal(["broker-assembly"], harness.Node("assembly").ProbeIds);
        Assert.Equal(["plc-1"], harness.Node("assembly/pc-1").ProbeIds);
        lock (built)
        {
            Assert.Contains(built, s => s.Id == "broker-assembly" && s.Target == "embedded");
            Assert.Contains(built, s => s.Id == "plc-1" && s.Target == "mqtt://10.0.0.7:1883" && s.MissThreshold == 4);
        }

        Assert.Null(harness.Node("assembly").LastError);

        FakeProbe Record(ProbeSpec spec)
        {
            lock (built)
            {
                built.Add(spec);
            }

            return new FakeProbe(spec.Id, spec.Interval, spec.Timeout, spec.MissThreshold) { Outcome = ProbeOutcome.Success };
        }
    }
}
