using Fsm2.Edge.Config;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Config;

/// <summary>The validation pipeline and its findings (50-runtime-monitoring §3, §3.8, §13).</summary>
public sealed class ConfigLoaderTests
{
    private static readonly string[] s_packTypes = ["protocol-converter", "connection", "source-flow", "sink-flow", "device-simulator"];

    /// <summary>A registry with group and stand-ins for the pack's types (the pack itself comes later).</summary>
    private static ConfigLoadOptions Options(bool dryDerive = true)
    {
        var factory = new WorkerFactory();
        GroupWorker.Register(factory, new GroupChildrenTable());
        foreach (string type in s_packTypes)
        {
            factory.Register<TestObserved, string>(type, id => new TestWorker(id));
        }

        return new ConfigLoadOptions { Registry = factory, Profiles = ConfigTestFiles.ShippedLookup, DryDerive = dryDerive };
    }

    private static ConfigLoadResult Load(string yaml) => ConfigLoader.Parse(yaml, "plant.yaml", Options());

    public const string Example = """
        # plant.yaml — press hall gateway
        version: 1
        runtime:
          id: gw-press-hall
          profile: arm64-gateway
          broker: embedded
          embedded_broker: { bind: 127.0.0.1, port: 1883 }
          metrics_interval: 10s
          location: { enterprise: acme, site: plant-1 }

        global:
          uns_version: v1
          historian: { retention_days: 30 }

        workers:
          - type: group
            name: devices
            probes: [ { type: mqtt, id: broker-devices } ]
            children:
              - type: device-simulator
                name: sim-press-1
                variables: { device: press-1, device_port: 15021 }
                config: |
                  device: "{{ device }}"
                  interval: 1s
                  tcp_listen: "127.0.0.1:{{ device_port }}"

          - type: group
            name: assembly
            location: { area: assembly }
            variables: { IP: 127.0.0.1, PORT: 15021 }
            probes: [ { type: mqtt, id: broker-assembly } ]
            children:
              - type: protocol-converter
                name: pc-press-1
                location: { line: line-a, cell: press-1 }
                variables: { device: press-1 }
                config: |
                  host: "{{ IP }}"
                  port: {{ PORT }}
                  device_topic: "devices/{{ device }}/#"
                templates:
                  uns_topic: "umh/{{ global.uns_version }}/{{ location_path }}/_historian/{{ tag }}"

              - type: protocol-converter
                name: pc-press-2
                state: stopped
                location: { line: line-a, cell: press-2 }
                variables: { device: press-2, PORT: 15022 }
                config: |
                  host: "{{ IP }}"
                  port: {{ PORT }}
        """;

    [Fact]
    [Trait("spec", "M-02")]
    public void M02_TheSpecExample_ValidatesWithoutFindings()
    {
        // act
        ConfigLoadResult result = Load(Example);

        // assert
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        Assert.Empty(result.Findings);
        EdgeConfig config = result.Config;
        Assert.Equal("gw-press-hall", config.Runtime.Id);
        Assert.Equal("fsm2/gw-press-hall", config.Runtime.TopicPrefix);
        Assert.Equal("arm64-gateway", config.Profile.Name);
        Assert.Equal(TimeSpan.FromSeconds(10), config.Runtime.MetricsInterval);
        Assert.Equal(5, config.NodeCount);
        Assert.Equal(5, config.DryDerivedNodeCount);
        WorkerEntry pc1 = config.Workers[1].Children[0];
        Assert.Equal("assembly/pc-press-1", pc1.Path);
        Assert.Equal(new Fsm2.Edge.Templating.IsaLocation("acme", "plant-1", "assembly", "line-a", "press-1"), pc1.MergedLocation);
        Assert.Equal("broker-assembly", Assert.Single(config.Workers[1].Probes).Id);
        Assert.Equal("v1", config.Global["uns_version"]);
    }

    [Fact]
    [Trait("spec", "M-03")]
    public void M03_UnknownKeyAndUnknownType_BothReportedSortedByLine()
    {
        // arrange: 'loaction' on line 14, the unknown type on line 20.
        string yaml = string.Join('\n',
            "runtime:",                                  // 1
            "  location: { enterprise: acme }",          // 2
            "workers:",                                  // 3
            "  - type: group",                           // 4
            "    name: g",                               // 5
            "    children:",                             // 6
            "      - type: connection",                  // 7
            "        name: c1",                          // 8
            "      - type: connection",                  // 9
            "        name: c2",                          // 10
            "      - type: connection",                  // 11
            "        name: c3",                          // 12
            "      - type: connection",                  // 13
            "        loaction: { line: l1 }",            // 14
            "        name: c4",                          // 15
            "      - type: connection",                  // 16
            "        name: c5",                          // 17
            "      - type: connection",                  // 18
            "        name: c6",                          // 19
            "      - type: protocol-convertor",          // 20
            "        name: c7",                          // 21
            "");

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.False(result.Succeeded);
        Assert.Collection(result.Findings,
            f =>
            {
                Assert.Equal((14, ConfigCodes.UnknownKey), (f.Line, f.Code));
                Assert.Contains("unknown key 'loaction'; did you mean 'location'?", f.Message, StringComparison.Ordinal);
                Assert.Equal("workers[g].children[c4].loaction", f.Path);
            },
            f =>
            {
                Assert.Equal((20, ConfigCodes.UnknownWorkerType), (f.Line, f.Code));
                Assert.StartsWith("unknown worker type 'protocol-convertor'; registered: connection, device-simulator, group, protocol-converter", f.Message, StringComparison.Ordinal);
            });
        Assert.StartsWith("plant.yaml:14:9: error FSM2CFG004: ", result.Findings[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "M-04")]
    public void M04_GoTemplateSyntax_Fsm2Cfg040OnTheTemplateLineSuggestingLiquid()
    {
        // arrange
        const string yaml = """
            runtime: { location: { enterprise: acme } }
            workers:
              - type: connection
                name: c1
                config: "host: {{ .IP }}"
            """;

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal(ConfigCodes.GoTemplateSyntax, f.Code);
        Assert.Equal(5, f.Line);
        Assert.Equal(20, f.Column);
        Assert.Equal("workers[c1].config", f.Path);
        Assert.Equal("Go template syntax '{{ .IP }}' is not supported; write '{{ IP }}' (Liquid) at (1:7)", f.Message);
    }

    [Fact]
    [Trait("spec", "M-05")]
    public void M05_TemplateErrorOnTheThirdLineOfABlockScalar_ReportsContentLinePlusTwo()
    {
        // arrange: 28 filler comment lines, so 'config: |' is on line 29 and its content starts on line 30.
        var lines = new List<string> { "runtime: { location: { enterprise: acme } }", "workers:", "  - type: connection", "    name: c1" };
        while (lines.Count < 28)
        {
            lines.Add("    # filler");
        }

        lines.Add("    config: |");                  // 29
        lines.Add("      host: \"{{ host }}\"");       // 30
        lines.Add("      port: {{ port }}");          // 31
        lines.Add("      device: {{ .Device }}");     // 32
        string yaml = string.Join('\n', lines) + "\n";

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal(ConfigCodes.GoTemplateSyntax, f.Code);
        Assert.Equal(32, f.Line);
        Assert.Equal(15, f.Column);
    }

    [Fact]
    [Trait("spec", "M-06")]
    public void M06_NoEnterpriseAnywhere_Fsm2Cfg022ForEachTopLevelEntry()
    {
        // arrange
        const string yaml = """
            workers:
              - type: group
                name: devices
                children:
                  - { type: connection, name: c1 }
              - type: connection
                name: solo
              - type: connection
                name: fine
                location: { enterprise: acme }
            """;

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.Equal(2, result.Findings.Count);
        Assert.All(result.Findings, f => Assert.Equal(ConfigCodes.MissingEnterprise, f.Code));
        Assert.Equal("merged location of devices has no 'enterprise' (set runtime.location.enterprise once for the whole tree)", result.Findings[0].Message);
        Assert.Equal((2, "workers[devices].location"), (result.Findings[0].Line, result.Findings[0].Path));
        Assert.Equal((6, "workers[solo].location"), (result.Findings[1].Line, result.Findings[1].Path));
    }

    public static TheoryData<string, int, int, string> BrokenFiles => new()
    {
        { "workers:\n  - type: connection\n    name: [unclosed\n", 4, 1, "while parsing a flow sequence, did not find expected ',' or ']'." },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, name: b }\n", 3, 3, "duplicate key 'name' (first at line 3)" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a }\n  - { type: connection, name: a }\n", 4, 11, "name 'a' already used at line 3" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: 'press 1' }\n", 3, 10, "'press 1' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" },
        { "runtime: { location: { enterprise: acme }, broker: 'http://x:1' }\nworkers: []\n", 1, 52, "broker must be 'embedded', mqtt://host:port or mqtts://host:port, got 'http://x:1'" },
        { "runtime: { location: { enterprise: acme }, topic_prefix: 'fsm2/#' }\nworkers: []\n", 1, 53, "topic_prefix 'fsm2/#' must not contain wildcards" },
        { "runtime: { location: { enterprise: acme }, metrics_interval: 200ms }\nworkers: []\n", 1, 7, "metrics_interval 200ms is below the minimum 1s" },
        { "runtime: { location: { enterprise: acme }, metrics_interval: 10 sec }\nworkers: []\n", 1, 55, "'10 sec' is not a duration (use e.g. 10s, 500ms, 1m30s)" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, children: [] }\n", 3, 4, "'children' is only allowed on type group" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, state: running }\n", 3, 7, "'running' is not a desired state of connection (active, stopped)" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, state: active, state_mapping: { running: active } }\n", 3, 7, "state and state_mapping are mutually exclusive" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, state_mapping: { paused: active } }\n", 3, 7, "'paused' is not a desired state of the runtime (running)" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, variables: { location_path: x } }\n", 3, 7, "'location_path' is reserved" },
        { "runtime: { location: { enterprise: acme, plant: p1 } }\nworkers: []\n", 1, 7, "unknown level 'plant'; levels: enterprise, site, area, line, cell (workcell)" },
        { "runtime: { location: { enterprise: acme, line: line.a } }\nworkers: []\n", 1, 7, "location value 'line.a' must not contain '.'" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, config: \"{% include 'x' %}\" }\n", 3, 7, "'include' is not allowed in Fsm2.Edge templates at (1:11)" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: group, name: a, probes: [ { type: mqtt, id: broker } ] }\n  - { type: group, name: b, probes: [ { type: mqtt, id: broker } ] }\n", 4, 7, "probe id 'broker' is already used by workers[a]" },
        { "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: group, name: a, probes: [ { type: tcp, id: dev } ] }\n", 3, 7, "a tcp probe needs target: \"host:port\"" },
        { "base: &b { type: connection }\nruntime: { location: { enterprise: acme } }\nworkers:\n  - { <<: *b, name: a }\n", 4, 7, "merge keys ('<<') are not supported; repeat the keys or use an alias for the whole value" },
        { "version: 2\nruntime: { location: { enterprise: acme } }\nworkers: []\n", 1, 10, "only version 1 is supported, got integer '2'" },
        { "runtime: { location: { enterprise: acme } }\n", 1, 1, "'workers' is required (use 'workers: []' for an empty runtime)" },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void Parse_BrokenFile_ReportsTheProblemAtItsLine(string yaml, int line, int column, string message)
    {
        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.False(result.Succeeded);
        Assert.Contains(result.Findings, f => f.IsError && f.Line == line && (message.Length == 0 || f.Message == message));
        _ = column; // columns are asserted where the spec names them (M-03, M-04, M-05)
    }

    [Fact]
    public void Parse_ManyErrors_AllReportedAtOnceSortedByLine()
    {
        // arrange
        const string yaml = """
            runtime: { broker: 'ftp://x', location: { enterprise: acme } }
            workers:
              - { type: nope, name: a }
              - { type: connection, name: a }
              - { type: connection, name: 'b c' }
            """;

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.Equal([ConfigCodes.InvalidBroker, ConfigCodes.UnknownWorkerType, ConfigCodes.DuplicateName, ConfigCodes.InvalidName], result.Findings.Select(f => f.Code));
        Assert.Equal([1, 3, 4, 5], result.Findings.Select(f => f.Line));
    }

    [Fact]
    public void Parse_Yaml12CoreSchema_YesNoOnOffStayStringsAndQuotedScalarsAreStrings()
    {
        // arrange
        const string yaml = """
            runtime: { location: { enterprise: acme } }
            global: { a: yes, b: no, c: on, d: "true", e: true, f: 12, g: 1.5, h: ~, i: '7' }
            workers: []
            """;

        // act
        EdgeConfig config = Load(yaml).Config!;

        // assert
        Assert.Equal("yes", config.Global["a"]);
        Assert.Equal("no", config.Global["b"]);
        Assert.Equal("on", config.Global["c"]);
        Assert.Equal("true", config.Global["d"]);
        Assert.Equal(true, config.Global["e"]);
        Assert.Equal(12L, config.Global["f"]);
        Assert.Equal(1.5, config.Global["g"]);
        Assert.Null(config.Global["h"]);
        Assert.Equal("7", config.Global["i"]);
    }

    [Fact]
    public void Parse_CommentsWhitespaceAndKeyOrder_DoNotChangeTheCanonicalHash()
    {
        // arrange
        const string a = "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, state: active }\n";
        const string b = "# comment\nworkers:\n  - name: a      # same entry\n    state: 'active'\n    type: connection\nruntime:\n  location: { enterprise: acme }\n";
        const string c = "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: connection, name: a, state: stopped }\n";

        // act
        EdgeConfig ca = Load(a).Config!;
        EdgeConfig cb = Load(b).Config!;
        EdgeConfig cc = Load(c).Config!;

        // assert
        Assert.NotEqual(ca.ContentHash, cb.ContentHash);
        Assert.Equal(ca.CanonicalHash, cb.CanonicalHash);
        Assert.NotEqual(ca.CanonicalHash, cc.CanonicalHash);
    }

    [Fact]
    public void Parse_ProfileOverrides_AreValidatedLikeTheProfileAndReportedAtTheOverridesKey()
    {
        // arrange
        const string yaml = """
            runtime:
              location: { enterprise: acme }
              profile: x64-gateway
              overrides:
                actions: { ring_capacity: 300 }
            workers: []
            """;

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((ConfigCodes.InvalidProfile, 5, "runtime.overrides"), (f.Code, f.Line, f.Path));
        Assert.EndsWith("$.actions.ring_capacity: 300 is not a power of two", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ValidOverrides_ChangeTheResolvedProfile()
    {
        // arrange
        const string yaml = "runtime: { location: { enterprise: acme }, profile: x64-gateway, overrides: { tick: { interval_ms: 10 } } }\nworkers: []\n";

        // act
        EdgeConfig config = Load(yaml).Config!;

        // assert
        Assert.Equal(10, config.Profile.Tick.IntervalMs);
    }

    [Fact]
    public void Parse_DepthBeyondMaxDepth_IsFsm2Cfg014()
    {
        // arrange: max_depth 2 through the overrides; a group at depth 2 with a child at depth 3.
        const string yaml = """
            runtime: { location: { enterprise: acme }, overrides: { supervision: { max_depth: 2 } } }
            workers:
              - type: group
                name: g1
                children:
                  - type: group
                    name: g2
                    children:
                      - { type: connection, name: deep }
            """;

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((ConfigCodes.TooDeep, 9), (f.Code, f.Line));
        Assert.Equal("depth 3 exceeds max_depth 2", f.Message);
    }

    [Fact]
    public void Parse_DeriveThrows_DryDeriveReportsItAtTheConfigLine()
    {
        // arrange
        var factory = new WorkerFactory();
        factory.Register<TestObserved, string>("connection", id => new TestWorker(id)
        {
            OnDerive = spec => throw new InvalidOperationException("missing variable 'global.nonexistent_key'"),
        });
        const string yaml = "runtime: { location: { enterprise: acme } }\nworkers:\n  - type: connection\n    name: c1\n    config: |\n      host: x\n";

        // act
        ConfigLoadResult result = ConfigLoader.Parse(yaml, "plant.yaml", new ConfigLoadOptions { Registry = factory, Profiles = ConfigTestFiles.ShippedLookup });

        // assert
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((ConfigCodes.MissingVariable, 6, "workers[c1].config"), (f.Code, f.Line, f.Path));
    }

    [Fact]
    public void LoadFile_Missing_IsFsm2Cfg001()
    {
        // act
        ConfigLoadResult result = ConfigLoader.LoadFile("/nonexistent/plant.yaml", Options());

        // assert
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal(ConfigCodes.Unreadable, f.Code);
        Assert.Equal("cannot read /nonexistent/plant.yaml: no such file", f.Message);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("0", 0)]
    public void DurationParser_ValidText_Parses(string text, int milliseconds)
    {
        Assert.True(DurationParser.TryParse(text, out TimeSpan value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("10 sec")]
    [InlineData("10")]
    [InlineData("-1s")]
    [InlineData("s")]
    [InlineData("")]
    public void DurationParser_InvalidText_IsRejected(string text)
        => Assert.False(DurationParser.TryParse(text, out _));
}
