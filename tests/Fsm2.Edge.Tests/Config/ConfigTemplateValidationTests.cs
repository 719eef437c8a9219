using System.Collections.Concurrent;
using System.Globalization;
using Fsm2.Edge.Config;
using Fsm2.Edge.Health;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using FindingSeverity = Fsm2.Edge.Config.FindingSeverity;

namespace Fsm2.Edge.Tests.Config;

/// <summary>
/// The file-level halves of the templating acceptance behaviours: templates, variables and locations of a config
/// file checked by the runtime's renderer and location rules (20-templating §2.7–§2.9, §3, §8; 50-runtime-monitoring
/// §3.5, §3.8; E-07, E-25).
/// </summary>
public sealed class ConfigTemplateValidationTests
{
    private static readonly string[] s_types = ["protocol-converter", "connection", "source-flow", "sink-flow", "device-simulator"];

    /// <summary>Rendered config each dry-derived node received, by node path.</summary>
    private readonly ConcurrentDictionary<string, string> _rendered = new(StringComparer.Ordinal);

    /// <summary>Children the <c>protocol-converter</c> stand-in declares in code.</summary>
    private IReadOnlyList<ChildSpec>? _converterChildren;

    /// <summary>
    /// A registry of stand-ins that record their rendered config; <c>connection</c> parses <c>port:</c> into an integer
    /// as a typed config schema would, so a rendered non-integer port fails its derive.
    /// </summary>
    private ConfigLoadOptions Options()
    {
        var factory = new WorkerFactory();
        GroupWorker.Register(factory, new GroupChildrenTable());
        foreach (string type in s_types)
        {
            factory.Register<TestObserved, string>(type, id => new TestWorker(id)
            {
                OnDerive = spec =>
                {
                    _rendered[id.Id] = spec.Config;
                    if (type == "connection")
                    {
                        CheckPort(spec.Config);
                    }

                    return new DerivedState<string>("active", spec.Config, type == "protocol-converter" ? _converterChildren : null);
                },
            });
        }

        return new ConfigLoadOptions { Registry = factory, Profiles = ConfigTestFiles.ShippedLookup, Renderer = new LiquidRenderer() };

        static void CheckPort(string config)
        {
            foreach (string line in config.Split('\n'))
            {
                if (line.StartsWith("port:", StringComparison.Ordinal))
                {
                    string value = line["port:".Length..].Trim().Trim('"');
                    if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    {
                        throw new ConfigException($"config.port: expected integer, got '{value}' (rendered)");
                    }
                }
            }
        }
    }

    private ConfigLoadResult Load(string yaml) => ConfigLoader.Parse(yaml, "plant.yaml", Options());

    private static string Lines(params string[] lines) => string.Join('\n', lines) + "\n";

    [Fact]
    [Trait("spec", "T-11")]
    public void T11_ReservedVariableKeyInTheFile_Fsm2Cfg054AtTheKey()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",  // 1
            "workers:",                                     // 2
            "  - type: connection",                         // 3
            "    name: c1",                                 // 4
            "    variables:",                               // 5
            "      IP: 10.0.0.1",                           // 6
            "      location_path: x");                      // 7

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.False(result.Succeeded);
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((ConfigCodes.InvalidVariableKey, 7, 7), (f.Code, f.Line, f.Column));
        Assert.EndsWith("variables.location_path", f.Path, StringComparison.Ordinal);
        Assert.Contains("'location_path' is reserved", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-12")]
    public void T12_LiquidLiteralAsVariableKey_ValidateWarnsAndTheTemplateRendersTheLiteral()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",  // 1
            "workers:",                                     // 2
            "  - type: device-simulator",                   // 3
            "    name: s1",                                 // 4
            "    variables: { empty: E }",                  // 5
            "    config: \"v: [{{ empty }}]\"");            // 6

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        ConfigFinding warning = Assert.Single(result.Findings);
        Assert.Equal((FindingSeverity.Warning, ConfigCodes.InvalidVariableKey, 5), (warning.Severity, warning.Code, warning.Line));
        Assert.Equal("workers[s1].variables.empty", warning.Path);
        Assert.Contains("'empty' is unreachable", warning.Message, StringComparison.Ordinal);
        Assert.Equal("v: []", _rendered["s1"]);
    }

    [Fact]
    [Trait("spec", "T-26")]
    public void T26_LiquidParseError_Fsm2Cfg041NamingFileLineAndTheConfigField()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",  // 1
            "workers:",                                     // 2
            "  - type: connection",                         // 3
            "    name: c1",                                 // 4
            "    config: \"Hello {{ Name }\"");             // 5: the quote is column 13, the template's (1:14) column 27

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.False(result.Succeeded);
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((ConfigCodes.LiquidParse, 5, 27, "workers[c1].config"), (f.Code, f.Line, f.Column, f.Path));
        Assert.Equal("End of tag '}}' was expected at (1:14)", f.Message);
        Assert.StartsWith("plant.yaml:5:27: error FSM2CFG041: workers[c1].config: ", f.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "M-05")]
    public void M05_LiquidParseErrorOnTheThirdLineOfABlockScalar_ReportsContentLinePlusTwo()
    {
        // arrange: 'config: |' on line 29, content from line 30; the error is on the block's third line.
        var lines = new List<string> { "runtime: { location: { enterprise: acme } }", "workers:", "  - type: connection", "    name: c1" };
        while (lines.Count < 28)
        {
            lines.Add("    # filler");
        }

        lines.Add("    config: |");                   // 29
        lines.Add("      host: \"{{ host }}\"");        // 30
        lines.Add("      port: 502");                  // 31
        lines.Add("      device: {{ device | }}");     // 32

        // act
        ConfigLoadResult result = Load(string.Join('\n', lines) + "\n");

        // assert
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((ConfigCodes.LiquidParse, 32), (f.Code, f.Line));
        Assert.Contains("(3:", f.Message, StringComparison.Ordinal);
        Assert.True(f.Column > 15, $"column {f.Column} should point into the tag on line 32");
    }

    public static TheoryData<string, int, int, string> E25Variants => new()
    {
        // config line (block content on line 6), code, expected file line, message fragment
        { "host: \"{{ .IP }}\"", ConfigCodes.GoTemplateSyntax, 6, "write '{{ IP }}' (Liquid)" },
        { "host: \"{{ IP | }}\"", ConfigCodes.LiquidParse, 6, "at (1:" },
        { "{% include 'x' %}", ConfigCodes.ForbiddenTag, 6, "'include' is not allowed in Fsm2.Edge templates" },
        { "port: \"{{ IP }}\"", ConfigCodes.RenderedConfigInvalid, 6, "config.port: expected integer" },
    };

    [Theory]
    [Trait("spec", "E-25")]
    [MemberData(nameof(E25Variants))]
    public void E25_TemplateErrorVariants_EachRejectedWithItsCodeAtTheTemplateLine(string configLine, int code, int line, string fragment)
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",  // 1
            "workers:",                                     // 2
            "  - type: connection",                         // 3
            "    name: c1",                                 // 4
            "    config: |",                                // 5
            "      " + configLine,                          // 6
            "    variables: { IP: 127.0.0.1 }");            // 7

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.False(result.Succeeded);
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((code, line, "workers[c1].config"), (f.Code, f.Line, f.Path));
        Assert.Contains(fragment, f.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-65")]
    public void T65_WorkcellAlias_RendersAsCellAndBothSetIsFsm2Cfg020()
    {
        // arrange
        string valid = Lines(
            "runtime: { location: { enterprise: ACME } }",
            "workers:",
            "  - type: device-simulator",
            "    name: s1",
            "    location: { workcell: C-7 }",
            "    config: \"{{ location.cell }}|{{ location.workcell }}|{{ location_path }}\"");
        string both = valid.Replace("{ workcell: C-7 }", "{ cell: C-6, workcell: C-7 }", StringComparison.Ordinal);

        // act
        ConfigLoadResult ok = Load(valid);
        ConfigLoadResult clash = Load(both);

        // assert
        Assert.True(ok.Succeeded, string.Join("\n", ok.Findings));
        Assert.Equal("C-7|C-7|ACME.C-7", _rendered["s1"]);
        ConfigFinding f = Assert.Single(clash.Findings);
        Assert.Equal((ConfigCodes.UnknownLevel, 5), (f.Code, f.Line));
        Assert.Contains("'cell' and 'workcell'", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-66")]
    public void T66_UnknownLocationLevel_Fsm2Cfg020ListingTheLevels()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",
            "workers:",
            "  - type: connection",
            "    name: c1",
            "    location: { productionLine: X }");

        // act
        ConfigFinding f = Assert.Single(Load(yaml).Findings);

        // assert
        Assert.Equal((ConfigCodes.UnknownLevel, 5, "workers[c1].location.productionLine"), (f.Code, f.Line, f.Path));
        Assert.Contains("unknown level 'productionLine'", f.Message, StringComparison.Ordinal);
        Assert.Contains("enterprise, site, area, line, cell (workcell)", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-67")]
    public void T67_TopLevelLocationWithoutEnterprise_Fsm2Cfg022AndValidWithARuntimeEnterprise()
    {
        // arrange
        string without = Lines(
            "workers:",
            "  - type: connection",
            "    name: c1",
            "    location: { site: Factory-1 }");
        string with = "runtime: { location: { enterprise: ACME } }\n" + without;

        // act
        ConfigLoadResult rejected = Load(without);
        ConfigLoadResult accepted = Load(with);

        // assert
        ConfigFinding f = Assert.Single(rejected.Findings);
        Assert.Equal((ConfigCodes.MissingEnterprise, 2), (f.Code, f.Line));
        Assert.Contains("has no 'enterprise'", f.Message, StringComparison.Ordinal);
        Assert.True(accepted.Succeeded, string.Join("\n", accepted.Findings));
        Assert.Equal(new IsaLocation("ACME", "Factory-1"), accepted.Config.Workers[0].MergedLocation);
    }

    [Theory]
    [Trait("spec", "T-68")]
    [InlineData("F.1", "location value 'F.1' must not contain '.'")]
    [InlineData("a/b", "location value 'a/b' must not contain '/'")]
    [InlineData("x+", "location value 'x+' must not contain '+'")]
    [InlineData("'#1'", "location value '#1' must not contain '#'")]
    [InlineData("'A B'", "location value 'A B' must not contain whitespace")]
    [InlineData("''", "location value of 'site' must not be empty")]
    public void T68_InvalidLocationValue_Fsm2Cfg021NamingTheValueAndTheCharacter(string value, string message)
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",
            "workers:",
            "  - type: connection",
            "    name: c1",
            "    location: { site: " + value + " }");

        // act
        ConfigFinding f = Assert.Single(Load(yaml).Findings);

        // assert
        Assert.Equal((ConfigCodes.InvalidLevelValue, 5, "workers[c1].location.site", message), (f.Code, f.Line, f.Path, f.Message));
    }

    [Fact]
    [Trait("spec", "T-74")]
    public void T74_GoSyntaxInANamedTemplate_Fsm2Cfg040AtItsLine()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",     // 1
            "workers:",                                        // 2
            "  - type: source-flow",                           // 3
            "    name: f1",                                    // 4
            "    templates:",                                  // 5
            "      uns_topic: \"umh/v1/{{ .tag }}\"");         // 6: the quote is column 18

        // act
        ConfigFinding f = Assert.Single(Load(yaml).Findings);

        // assert
        Assert.Equal((ConfigCodes.GoTemplateSyntax, 6, 26, "workers[f1].templates.uns_topic"), (f.Code, f.Line, f.Column, f.Path));
        Assert.Contains("write '{{ tag }}' (Liquid)", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-74")]
    public void T74_NamedTemplate_TestRenderedWithProbeTagAndTopicSoOnlyRealMissesFail()
    {
        // arrange
        string valid = Lines(
            "runtime: { location: { enterprise: ACME, site: Factory-1 } }",                       // 1
            "workers:",                                                                          // 2
            "  - type: source-flow",                                                             // 3
            "    name: f1",                                                                      // 4
            "    location: { line: Line-A }",                                                    // 5
            "    templates:",                                                                    // 6
            "      uns_topic: \"umh/v1/{{ location_path }}/_historian/{{ tag }}\"",               // 7
            "      raw_topic: |",                                                                // 8
            "        {{ topic }}/raw");                                                          // 9
        string missing = valid.Replace("{{ topic }}/raw", "{{ topic }}/{{ device.id }}", StringComparison.Ordinal);

        // act
        ConfigLoadResult ok = Load(valid);
        ConfigLoadResult bad = Load(missing);

        // assert
        Assert.True(ok.Succeeded, string.Join("\n", ok.Findings));
        Assert.Empty(ok.Findings);
        ConfigFinding f = Assert.Single(bad.Findings);
        Assert.Equal((ConfigCodes.MissingVariable, 9, 24, "workers[f1].templates.raw_topic"), (f.Code, f.Line, f.Column, f.Path));
        Assert.StartsWith("missing variable 'device'", f.Message, StringComparison.Ordinal);
        Assert.Contains("'_probe'", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-47")]
    public void T47_MissingGlobalKey_Fsm2Cfg042AtTheReferencingTemplateLine()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",  // 1
            "global: { api_endpoint: x }",                  // 2
            "workers:",                                     // 3
            "  - type: connection",                         // 4
            "    name: c1",                                 // 5
            "    config: |",                                // 6
            "      host: x",                                // 7
            "      api: {{ global.nonexistent_key }}");     // 8: 'global' starts at column 15

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((FindingSeverity.Error, ConfigCodes.MissingVariable, 8, 15), (f.Severity, f.Code, f.Line, f.Column));
        Assert.Equal("missing variable 'global.nonexistent_key'", f.Message);
    }

    [Fact]
    public void MissingGlobalKeyInFleetMode_IsAWarningBecauseTheFleetTopicMayProvideIt()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme }, fleet: { name: plant-1 } }",
            "workers:",
            "  - type: connection",
            "    name: c1",
            "    config: \"api: {{ global.region }}\"",
            "  - type: connection",
            "    name: c2",
            "    config: \"api: {{ region }}\"");

        // act
        ConfigLoadResult result = Load(yaml);

        // assert: the global miss warns, the User miss still rejects the file.
        Assert.False(result.Succeeded);
        Assert.Collection(result.Findings,
            f => Assert.Equal((FindingSeverity.Warning, ConfigCodes.MissingVariable, 5), (f.Severity, f.Code, f.Line)),
            f => Assert.Equal((FindingSeverity.Error, ConfigCodes.MissingVariable, 8), (f.Severity, f.Code, f.Line)));
    }

    [Fact]
    [Trait("spec", "E-07")]
    public void E07_EnterpriseRemovedFromRuntimeLocation_Fsm2Cfg022ForEachTopLevelEntryAtItsLine()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { site: plant-1 } }",     // 1
            "workers:",                                     // 2
            "  - type: group",                              // 3
            "    name: assembly",                           // 4
            "    location: { area: assembly }",             // 5
            "    children:",                                // 6
            "      - { type: connection, name: a }",        // 7
            "  - type: connection",                         // 8
            "    name: solo");                              // 9

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.Equal([(ConfigCodes.MissingEnterprise, 3), (ConfigCodes.MissingEnterprise, 8)], result.Findings.Select(f => (f.Code, f.Line)));
        Assert.Contains("merged location of assembly has no 'enterprise'", result.Findings[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "E-07")]
    public void E07_LocationPaths_MergedLikeTheRuntimeAndRenderedPerNode()
    {
        // arrange
        string yaml = Lines(
            "runtime: { location: { enterprise: acme, site: plant-1 } }",
            "workers:",
            "  - type: group",
            "    name: assembly",
            "    location: { area: assembly }",
            "    children:",
            "      - { type: protocol-converter, name: a, location: { line: line-a, cell: press-1 }, config: '{{ location_path }}' }",
            "      - { type: protocol-converter, name: b, location: { line: line-b }, config: '{{ location_path }}' }",
            "      - { type: protocol-converter, name: c, location: { workcell: w7 }, config: '{{ location_path }}' }",
            "      - { type: protocol-converter, name: d, location: { site: plant-2, line: l9 }, config: '{{ location_path }}' }",
            "      - type: protocol-converter",
            "        name: e",
            "        location: { line: l5 }",
            "        templates: { uns_topic: 'site/{{ location.site }}/{{ tag }}' }");

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        Assert.Equal("acme.plant-1.assembly.line-a.press-1", _rendered["assembly/a"]);
        Assert.Equal("acme.plant-1.assembly.line-b", _rendered["assembly/b"]);
        Assert.Equal("acme.plant-1.assembly.w7", _rendered["assembly/c"]);
        Assert.Equal("acme.plant-2.assembly.l9", _rendered["assembly/d"]);
        Assert.Equal("acme.plant-1.assembly.l5", result.Config.Workers[0].Children[4].MergedLocation.Path);
    }

    [Fact]
    [Trait("spec", "T-27")]
    public void CodeDeclaredChildWithAMissingVariable_Fsm2Cfg042OnTheDeclaringEntry()
    {
        // arrange
        _converterChildren =
        [
            new ChildSpec("conn", "connection", new UserSpec("host: {{ IP }}")),
            new ChildSpec("source", "source-flow", new UserSpec("device: {{ device_id }}")),
        ];
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",  // 1
            "workers:",                                     // 2
            "  - type: protocol-converter",                 // 3
            "    name: pc",                                 // 4
            "    variables: { IP: 10.0.0.1 }",              // 5
            "    config: |",                                // 6
            "      mode: bridge");                          // 7

        // act
        ConfigLoadResult result = Load(yaml);

        // assert: the converter and its first child render; the second child's miss is reported once.
        ConfigFinding f = Assert.Single(result.Findings);
        Assert.Equal((ConfigCodes.MissingVariable, 7, "workers[pc].<derived source>"), (f.Code, f.Line, f.Path));
        Assert.Contains("missing variable 'device_id'", f.Message, StringComparison.Ordinal);
        Assert.Contains("pc/source", f.Message, StringComparison.Ordinal);
        Assert.Equal("host: 10.0.0.1", _rendered["pc/conn"]);
    }

    [Fact]
    public void FindingsOfAllStages_AreSortedByLine()
    {
        // arrange: a render miss (line 6) found after the parse error (line 9) and the unknown key (line 10).
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",  // 1
            "workers:",                                     // 2
            "  - type: connection",                         // 3
            "    name: a",                                  // 4
            "    config: |",                                // 5
            "      host: {{ nowhere }}",                    // 6
            "  - type: connection",                         // 7
            "    name: b",                                  // 8
            "    config: \"{{ x | }}\"",                    // 9
            "  - type: connection",                         // 10
            "    nmae: c");                                 // 11

        // act
        ConfigLoadResult result = Load(yaml);

        // assert
        Assert.Equal([(6, ConfigCodes.MissingVariable), (9, ConfigCodes.LiquidParse), (11, ConfigCodes.UnknownKey)],
            result.Findings.Where(f => f.Code != ConfigCodes.MissingField).Select(f => (f.Line, f.Code)));
    }

    [Fact]
    public void ParsedTemplates_LandInTheRenderersCache()
    {
        // arrange
        var renderer = new LiquidRenderer();
        ConfigLoadOptions options = Options() with { Renderer = renderer };
        string yaml = Lines(
            "runtime: { location: { enterprise: acme } }",
            "workers:",
            "  - { type: connection, name: a, config: 'host: {{ runtime_id }}' }",
            "  - { type: connection, name: b, config: 'host: {{ runtime_id }}' }");

        // act
        ConfigLoadResult result = ConfigLoader.Parse(yaml, "plant.yaml", options);

        // assert: one distinct text, parsed once; the runtime finds it in the same cache.
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        Assert.Equal(1, renderer.ParseCount);
        Assert.True(renderer.Parse("host: {{ runtime_id }}").IsValid);
        Assert.Equal(1, renderer.ParseCount);
    }
}
