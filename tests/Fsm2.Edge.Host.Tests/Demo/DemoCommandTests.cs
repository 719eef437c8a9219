using Fsm2.Edge.Config;
using Fsm2.Edge.Host.Commands;
using Fsm2.Edge.Host.Demo;

namespace Fsm2.Edge.Host.Tests.Demo;

/// <summary><c>fsm2-edge demo</c>'s options and built-in configuration (50-runtime-monitoring §2.1, §2.3).</summary>
public sealed class DemoCommandTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var signals = new HostSignals();
        int code = await Cli.InvokeAsync(args, output, error, signals);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task PrintConfig_PrintsAValidRunConfigWithOneSimulatorAndConverterPerDevice_Exits0()
    {
        // act
        (int code, string yaml, string error) = await Run("demo", "--print-config", "--devices", "4");

        // assert: exit 0, and the text passes the same validation pipeline as 'run' (dry derive included).
        Assert.Equal(0, code);
        Assert.Equal("", error);
        var groups = new GroupChildrenTable();
        ConfigLoadResult loaded = ConfigLoader.Parse(yaml, "demo.yaml", HostEnvironment.LoadOptions(HostEnvironment.CreateRegistry(groups), null, null, null));
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Findings));
        EdgeConfig config = loaded.Config;
        Assert.Equal(["devices", "assembly"], config.Workers.Select(w => w.Name));
        Assert.Equal(["sim-press-1", "sim-press-2", "sim-press-3", "sim-press-4"], config.Workers[0].Children.Select(c => c.Name));
        Assert.Equal(["pc-press-1", "pc-press-2", "pc-press-3", "pc-press-4"], config.Workers[1].Children.Select(c => c.Name));
        Assert.Equal(2 + (4 * 4), config.DryDerivedNodeCount);
        Assert.Equal(1883, config.Runtime.EmbeddedPort);
        Assert.Contains("tcp_listen: \"127.0.0.1:{{ device_port }}\"", yaml, StringComparison.Ordinal);
        Assert.Contains("device_port: 15024 }", yaml, StringComparison.Ordinal);
        Assert.Contains("PORT: 15024 }", yaml, StringComparison.Ordinal);
        Assert.Contains("umh/{{ global.uns_version }}/{{ location_path }}/_historian/{{ tag }}", yaml, StringComparison.Ordinal);
        Assert.Equal(2, config.Workers.Count(w => w.Probes.Any(p => p.Type == "mqtt")));
    }

    [Fact]
    public async Task PrintConfig_PortZero_BrokerPortZeroAndDistinctFreeSimulatorPorts()
    {
        // act
        (int code, string yaml, _) = await Run("demo", "--print-config", "--port", "0", "--devices", "3");

        // assert
        Assert.Equal(0, code);
        Assert.Contains("embedded_broker: { bind: 127.0.0.1, port: 0 }", yaml, StringComparison.Ordinal);
        string[] ports = [.. yaml.Split('\n').Where(l => l.Contains("device_port:", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf("device_port:", StringComparison.Ordinal) + 12)..].Trim(' ', '}'))];
        Assert.Equal(3, ports.Distinct().Count());
        Assert.All(ports, p => Assert.InRange(int.Parse(p, System.Globalization.CultureInfo.InvariantCulture), 1, 65_535));
    }

    [Theory]
    [InlineData("--devices", "0", "--devices must be 1-50")]
    [InlineData("--devices", "51", "--devices must be 1-50")]
    [InlineData("--port", "70000", "--port must be 0-65535")]
    [InlineData("--duration", "soon", "--duration must be a positive duration")]
    public async Task BadOption_Exits2NamingIt(string option, string value, string message)
    {
        // act
        (int code, string output, string error) = await Run("demo", option, value);

        // assert
        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public async Task UnknownProfile_Exits2ListingTheProfiles()
    {
        // act
        (int code, _, string error) = await Run("demo", "--port", "0", "--profile", "arm64-tiny");

        // assert
        Assert.Equal(2, code);
        Assert.Contains("unknown profile 'arm64-tiny'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Console_Terminal_RedrawsTheTableInPlaceWithNewLogLinesAboveIt()
    {
        // arrange
        using var output = new StringWriter();
        using var console = new DemoConsole(output, terminal: true, width: 12);
        console.WriteLine("info  first");

        // act
        console.DrawTable(["table 1 line 1", "t1"]);
        console.WriteLine("info  second");
        string beforeRedraw = output.ToString();
        console.DrawTable(["t2 a", "t2 b"]);
        console.WriteLine("info  third");
        console.Release();

        // assert: the log waits for the redraw; the redraw moves up over the 2 table lines and clears below; lines are
        // cut to the terminal width.
        Assert.Equal("info  first\ntable 1 lin\nt1\n", beforeRedraw.ReplaceLineEndings("\n"));
        Assert.Equal("info  first\ntable 1 lin\nt1\n\u001b[2A\u001b[Jinfo  second\nt2 a\nt2 b\ninfo  third\n", output.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Console_Plain_PrintsLogsAsTheyComeAndEachTableWithoutEscapes()
    {
        // arrange
        using var output = new StringWriter();
        using var console = new DemoConsole(output, terminal: false);

        // act
        console.WriteLine("info  first");
        console.DrawTable(["t1"]);
        console.WriteLine("info  second");
        console.DrawTable(["t2"]);

        // assert
        Assert.Equal("info  first\nt1\n\ninfo  second\nt2\n\n", output.ToString().ReplaceLineEndings("\n"));
        Assert.DoesNotContain('\u001b', output.ToString());
    }
}
