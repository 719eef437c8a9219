using System.Globalization;
using System.Text;
using System.Text.Json;
using Fsm2.Edge.Config;

namespace Fsm2.Edge.Host.Commands;

/// <summary>
/// <c>fsm2-edge validate FILE</c> (50-runtime-monitoring §3.8): one line per finding
/// (<c>file:line:col: error FSM2CFGnnn: path: message</c>), sorted by line, then a summary; exit 2 on any error.
/// Opens no socket and starts no thread.
/// </summary>
internal static class ValidateCommand
{
    public static int Run(string file, string? profile, string? profilesDirectory, bool json, TextWriter output)
    {
        var groups = new GroupChildrenTable();
        ConfigLoadOptions options = HostEnvironment.LoadOptions(HostEnvironment.CreateRegistry(groups), profilesDirectory, profile, broker: null);
        ConfigLoadResult result = ConfigLoader.LoadFile(file, options);
        if (json)
        {
            output.WriteLine(ToJson(result.Findings));
        }
        else
        {
            foreach (ConfigFinding finding in result.Findings)
            {
                output.WriteLine(finding.ToString());
            }

            int warnings = result.Findings.Count(static f => !f.IsError);
            if (result.Succeeded)
            {
                EdgeConfig config = result.Config;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{file}: OK — {config.Workers.Count} top-level workers, {config.DryDerivedNodeCount} nodes after dry derive, profile {config.Profile.Name}, {warnings} warnings"));
            }
            else
            {
                int errors = result.Findings.Count(static f => f.IsError);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file}: FAILED — {errors} errors, {warnings} warnings"));
            }
        }

        return result.Succeeded ? ExitCodes.Success : result.RuntimeFailure ? ExitCodes.RuntimeFailure : ExitCodes.UsageOrConfig;
    }

    private static string ToJson(IReadOnlyList<ConfigFinding> findings)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartArray();
            foreach (ConfigFinding finding in findings)
            {
                writer.WriteStartObject();
                writer.WriteString("file", finding.File);
                writer.WriteNumber("line", finding.Line);
                writer.WriteNumber("column", finding.Column);
                writer.WriteString("severity", finding.IsError ? "error" : "warning");
                writer.WriteString("code", finding.CodeText);
                writer.WriteString("path", finding.Path);
                writer.WriteString("message", finding.Message);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
