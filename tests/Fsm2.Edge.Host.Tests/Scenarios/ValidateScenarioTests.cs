using System.Text.Json;
using System.Text.RegularExpressions;
using Fsm2.Edge.Host.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.Scenarios;

/// <summary>
/// E-02 (60-scenarios; 50-runtime-monitoring §2.2, §3.8, §3.4): <c>fsm2-edge validate</c> as a child process (mode C)
/// on PLANT, on a broken copy with four defects, and on the broken configs of issue 7 (bad YAML, unknown worker type,
/// duplicate names, Go-style template, missing enterprise, bad broker URL).
/// </summary>
public sealed partial class ValidateScenarioTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-validate-" + Guid.NewGuid().ToString("N"));

    public ValidateScenarioTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static int LineOf(string text, string line, int occurrence = 1)
    {
        string[] lines = text.Split('\n');
        int seen = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimEnd('\r') == line && ++seen == occurrence)
            {
                return i + 1;
            }
        }

        throw new Xunit.Sdk.XunitException($"fixture line not found: '{line}'");
    }

    // PLANT with the four defects of E-02: 'loaction:' on the assembly group, 'type: protocol-convertor' on pc-press-1,
    // a Go-style template in pc-press-2's config block, and a third converter named pc-press-1 again.
    private static string Broken(string plant)
    {
        const string Host = "          host: \"{{ IP }}\"\n";
        int second = plant.IndexOf(Host, plant.IndexOf(Host, StringComparison.Ordinal) + 1, StringComparison.Ordinal);
        string broken = (plant[..second] + "          host: \"{{ .IP }}\"\n" + plant[(second + Host.Length)..])
            .Replace("    location: { area: assembly }\n", "    loaction: { area: assembly }\n", StringComparison.Ordinal)
            .Replace("      - type: protocol-converter\n        name: pc-press-1\n", "      - type: protocol-convertor\n        name: pc-press-1\n", StringComparison.Ordinal);
        return broken + """
                  - type: protocol-converter
                    name: pc-press-1
                    state: stopped
                    location: { line: line-a, cell: press-3 }
                    variables: { device: press-3 }
                    config: |
                      host: "{{ IP }}"
                      port: {{ PORT }}
                      device_topic: "devices/{{ device }}/#"

            """;
    }

    [Fact]
    [Trait("spec", "E-02")]
    public void E02_ValidateGoodAndBrokenFile_OkSummaryThenFourSortedFindingsExit2AndJson()
    {
        // arrange: PLANT with free ports, and its broken copy.
        string plantText = Plant.Text(Plant.FreePort(), Plant.FreePort(), Plant.FreePort());
        string plant = Write("plant.yaml", plantText);
        string brokenText = Broken(plantText);
        string broken = Write("broken.yaml", brokenText);

        // act
        (int okCode, string[] okOut, _) = HostProcess.Run("validate", plant);
        (int brokenCode, string[] brokenOut, _) = HostProcess.Run("validate", broken);
        (int jsonCode, string[] jsonOut, _) = HostProcess.Run("validate", broken, "--json");

        // assert: PLANT — exit 0 and one OK line naming 10 nodes.
        Assert.Equal(0, okCode);
        Assert.Equal([$"{plant}: OK — 2 top-level workers, 10 nodes after dry derive, profile arm64-gateway, 0 warnings"], okOut);

        // BROKEN — exit 2; exactly four error lines of the form FILE:LINE:COLUMN: error FSM2CFGnnn: PATH: message,
        // sorted by line, then the summary.
        Assert.Equal(2, brokenCode);
        Assert.Equal($"{broken}: FAILED — 4 errors, 0 warnings", brokenOut[^1]);
        Match[] findings = [.. brokenOut[..^1].Select(l => FindingLine().Match(l))];
        Assert.Equal(4, findings.Length);
        Assert.All(findings, m => Assert.True(m.Success, "not a finding line: " + m.Value));
        Assert.All(findings, m => Assert.Equal(broken, m.Groups["file"].Value));
        int[] lines = [.. findings.Select(m => int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(lines.Order(), lines);

        int firstPcPress1 = LineOf(brokenText, "        name: pc-press-1");
        (string Code, int Line, string Path, string Message)[] expected =
        [
            ("FSM2CFG004", LineOf(brokenText, "    loaction: { area: assembly }"), "workers[assembly].loaction",
                "unknown key 'loaction'; did you mean 'location'?"),
            ("FSM2CFG012", LineOf(brokenText, "      - type: protocol-convertor"), "workers[assembly].children[pc-press-1].type",
                "unknown worker type 'protocol-convertor'; registered: connection, device-simulator, group, protocol-converter, sink-flow, source-flow"),
            ("FSM2CFG040", LineOf(brokenText, "          host: \"{{ .IP }}\""), "workers[assembly].children[pc-press-2].config",
                "Go template syntax '{{ .IP }}' is not supported; write '{{ IP }}' (Liquid)"),
            ("FSM2CFG011", LineOf(brokenText, "        name: pc-press-1", occurrence: 2), "workers[assembly].children[pc-press-1].name",
                $"name 'pc-press-1' already used at line {firstPcPress1}"),
        ];
        for (int i = 0; i < expected.Length; i++)
        {
            Match m = findings[i];
            Assert.Equal(expected[i].Code, m.Groups["code"].Value);
            Assert.Equal(expected[i].Line, lines[i]);
            Assert.StartsWith(expected[i].Path, m.Groups["path"].Value, StringComparison.Ordinal);
            Assert.Contains(expected[i].Message, m.Groups["message"].Value, StringComparison.Ordinal);
        }

        // --json — the same four findings as objects.
        Assert.Equal(2, jsonCode);
        JsonElement array = JsonDocument.Parse(string.Join('\n', jsonOut)).RootElement;
        Assert.Equal(4, array.GetArrayLength());
        for (int i = 0; i < 4; i++)
        {
            JsonElement o = array[i];
            Match m = findings[i];
            Assert.Equal(broken, o.GetProperty("file").GetString());
            Assert.Equal(lines[i], o.GetProperty("line").GetInt32());
            Assert.Equal(int.Parse(m.Groups["column"].Value, System.Globalization.CultureInfo.InvariantCulture), o.GetProperty("column").GetInt32());
            Assert.Equal("error", o.GetProperty("severity").GetString());
            Assert.Equal(m.Groups["code"].Value, o.GetProperty("code").GetString());
            Assert.Equal(m.Groups["path"].Value, o.GetProperty("path").GetString());
            Assert.Equal(m.Groups["message"].Value, o.GetProperty("message").GetString());
        }
    }

    /// <summary>Issue 7's broken configs: each with the code and the text that names the problem.</summary>
    public static TheoryData<string, string, string, string> IssueConfigs => new()
    {
        { "bad-yaml", "workers:\n  - type: group\n    name: [oops\n", "FSM2CFG002", "did not find expected ',' or ']'" },
        { "bad-yaml-flow", "runtime: { location: { enterprise: acme } }\nglobal:\n  uns_version: [v1\nworkers: []\n", "FSM2CFG002", "malformed YAML" },
        { "unknown-type", "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: protocol-convertor, name: a }\n", "FSM2CFG012",
            "unknown worker type 'protocol-convertor'; registered: connection, device-simulator, group, protocol-converter, sink-flow, source-flow" },
        { "duplicate-names", "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: group, name: a }\n  - { type: group, name: a }\n", "FSM2CFG011",
            "name 'a' already used at line 3" },
        { "go-template", "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: device-simulator, name: a, config: \"device: {{ .IP }}\" }\n", "FSM2CFG040",
            "Go template syntax '{{ .IP }}' is not supported; write '{{ IP }}' (Liquid)" },
        { "no-enterprise", "workers:\n  - { type: group, name: a }\n", "FSM2CFG022", "merged location of a has no 'enterprise'" },
        { "bad-broker", "runtime: { location: { enterprise: acme }, broker: 'tcp://x:1883' }\nworkers: []\n", "FSM2CFG052",
            "broker must be 'embedded', mqtt://host:port or mqtts://host:port" },
    };

    [Theory]
    [Trait("spec", "E-02")]
    [MemberData(nameof(IssueConfigs))]
    public void E02_ValidateBrokenConfig_OneFindingNamingTheProblemExit2(string name, string yaml, string code, string text)
    {
        // arrange
        string file = Write(name + ".yaml", yaml);

        // act
        (int exit, string[] output, _) = HostProcess.Run("validate", file);

        // assert: exit 2, one finding line with the code that names the problem, then the summary.
        Assert.Equal(2, exit);
        Assert.Equal(2, output.Length);
        Match finding = FindingLine().Match(output[0]);
        Assert.True(finding.Success, output[0]);
        Assert.Equal(file, finding.Groups["file"].Value);
        Assert.Equal(code, finding.Groups["code"].Value);
        Assert.Contains(text, output[0], StringComparison.Ordinal);
        Assert.Equal($"{file}: FAILED — 1 errors, 0 warnings", output[1]);
    }

    [GeneratedRegex(@"^(?<file>.+):(?<line>\d+):(?<column>\d+): error (?<code>FSM2CFG\d{3}): (?:(?<path>\S+): )?(?<message>.+)$")]
    private static partial Regex FindingLine();
}
