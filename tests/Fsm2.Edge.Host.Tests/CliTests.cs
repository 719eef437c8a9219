using System.CommandLine;
using Fsm2.Edge.Host.Commands;

namespace Fsm2.Edge.Host.Tests;

/// <summary>The fsm2-edge command line in-process (50-runtime-monitoring §2, §13); the profiles ship in the output folder.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-host-" + Guid.NewGuid().ToString("N"));

    public CliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var signals = new HostSignals();
        int code = await Cli.InvokeAsync(args, output, error, signals);
        return (code, output.ToString(), error.ToString());
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    [Trait("spec", "M-01")]
    public async Task M01_NoArguments_PrintsTheVerbsAndExits2()
    {
        // act
        (int code, string output, _) = await Run();

        // assert
        Assert.Equal(2, code);
        foreach (string verb in (string[])["run", "demo", "validate", "profiles"])
        {
            Assert.Contains("  " + verb, output, StringComparison.Ordinal);
        }

        Assert.Contains("Exit codes:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionTable_EveryDocumentedOptionIsAccepted()
    {
        // arrange
        RootCommand root = Cli.Build(TextWriter.Null, TextWriter.Null, new HostSignals());

        // act + assert: each row's sample parses without error, and the option appears in its verb's help.
        foreach (CommandTable.OptionRow row in CommandTable.Rows)
        {
            ParseResult parsed = root.Parse([row.Verb, .. row.Sample]);
            Assert.True(parsed.Errors.Count == 0, $"{row.Verb} {string.Join(' ', row.Sample)}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
            Assert.Same(root.Subcommands.Single(c => c.Name == row.Verb), parsed.CommandResult.Command);
            Assert.Contains(row.Option, parsed.CommandResult.Command.Options);
        }

        // ...and every option a verb has is in the table.
        foreach (Command verb in root.Subcommands)
        {
            foreach (Option option in verb.Options.Where(o => o.Name is not ("--help" or "-h" or "-?")))
            {
                Assert.Contains(CommandTable.Rows, r => r.Verb == verb.Name && ReferenceEquals(r.Option, option));
            }
        }
    }

    [Fact]
    [Trait("spec", "M-20")]
    public async Task M20_Profiles_ListsFourAndMarksTheDefault()
    {
        // act
        (int code, string output, _) = await Run("profiles");

        // assert
        Assert.Equal(0, code);
        string[] rows = output.Split('\n').Where(l => l.Contains("ms ", StringComparison.Ordinal) && !l.StartsWith("* =", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, rows.Length);
        string expectedDefault = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64
            ? "arm64-gateway" : "x64-gateway";
        Assert.Single(rows, r => r.StartsWith("* ", StringComparison.Ordinal));
        Assert.StartsWith("* " + expectedDefault, rows.Single(r => r.StartsWith("* ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "M-19")]
    public async Task M19_RunWithUnknownProfile_Exits2ListingTheFourProfiles()
    {
        // arrange
        string config = Write("plant.yaml", "runtime: { location: { enterprise: acme } }\nworkers: []\n");

        // act
        (int code, _, string error) = await Run("run", "--config", config, "--profile", "arm64-tiny");

        // assert
        Assert.Equal(2, code);
        Assert.Contains("FSM2CFG050", error, StringComparison.Ordinal);
        Assert.Contains("unknown profile 'arm64-tiny'; available: arm64-gateway, arm64-small, x64-gateway, x64-server", error, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BrokenConfigs => new()
    {
        { "bad-yaml", "workers:\n  - type: group\n    name: [oops\n", "FSM2CFG002" },
        { "unknown-type", "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: protocol-convertor, name: a }\n", "unknown worker type 'protocol-convertor'" },
        { "duplicate-names", "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: group, name: a }\n  - { type: group, name: a }\n", "name 'a' already used at line 3" },
        { "go-template", "runtime: { location: { enterprise: acme } }\nworkers:\n  - { type: device-simulator, name: a, config: \"device: {{ .IP }}\" }\n", "write '{{ IP }}' (Liquid)" },
        { "no-enterprise", "workers:\n  - { type: group, name: a }\n", "merged location of a has no 'enterprise'" },
        { "bad-broker", "runtime: { location: { enterprise: acme }, broker: 'tcp://x:1883' }\nworkers: []\n", "broker must be 'embedded', mqtt://host:port or mqtts://host:port" },
    };

    [Theory]
    [MemberData(nameof(BrokenConfigs))]
    public async Task Validate_BrokenConfig_NamesTheProblemAndExits2(string name, string yaml, string expected)
    {
        // arrange
        string file = Write(name + ".yaml", yaml);

        // act
        (int code, string output, _) = await Run("validate", file);

        // assert
        Assert.Equal(2, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.StartsWith(file + ":", output, StringComparison.Ordinal);
        Assert.Contains(": FAILED — ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_ValidConfig_PrintsOneOkLineAndExits0()
    {
        // arrange
        string file = Write("ok.yaml", "runtime: { location: { enterprise: acme }, profile: arm64-small }\nworkers:\n  - type: group\n    name: lines\n    children:\n      - { type: group, name: a }\n");

        // act
        (int code, string output, _) = await Run("validate", file);

        // assert
        Assert.Equal(0, code);
        Assert.Equal($"{file}: OK — 1 top-level workers, 2 nodes after dry derive, profile arm64-small, 0 warnings", output.Trim());
    }

    [Fact]
    public async Task Run_Signal_DrainsAndExits0()
    {
        // arrange
        string file = Write("run.yaml", "runtime: { location: { enterprise: acme }, profile: x64-server }\nworkers:\n  - type: group\n    name: lines\n    children:\n      - { type: group, name: a }\n");
        using var output = new StringWriter();
        using var signals = new HostSignals();
        TextWriter synchronized = TextWriter.Synchronized(output);
        var options = new HostOptions { ConfigFile = file, NoWatch = true, Out = synchronized, Error = synchronized };

        // The synchronized writer locks on itself for every write; reading the StringWriter under the same lock keeps
        // ToString from racing a write from the host's threads.
        string Text()
        {
            lock (synchronized)
            {
                return output.ToString();
            }
        }

        // act
        Task<int> run = EdgeHost.RunAsync(options, signals);
        SpinWait.SpinUntil(() => Text().Contains("node_added node=lines/a", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        signals.Request("SIGTERM");
        int code = await run.WaitAsync(TimeSpan.FromSeconds(15));

        // assert
        string log = Text();
        Assert.Equal(0, code);
        Assert.Contains("runtime_started", log, StringComparison.Ordinal);
        Assert.Contains("shutdown_requested signal=SIGTERM budget_ms=8000", log, StringComparison.Ordinal);
        Assert.Contains("shutdown_completed", log, StringComparison.Ordinal);
        Assert.Contains("clean=True", log, StringComparison.Ordinal);
    }
}
