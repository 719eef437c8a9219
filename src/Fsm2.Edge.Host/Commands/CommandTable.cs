using System.CommandLine;

namespace Fsm2.Edge.Host.Commands;

/// <summary>
/// The one option table of <c>fsm2-edge</c> (50-runtime-monitoring §2.1): help text and parsing both come from these
/// symbols, and a test feeds every row's <see cref="OptionRow.Sample"/> to the parser, so no documented option can be
/// rejected.
/// </summary>
internal static class CommandTable
{
    public static readonly string[] LogLevels = ["trace", "debug", "info", "warning", "error"];

    // run
    public static readonly Option<string> RunConfig = new("--config") { Description = "The configuration file (YAML).", Required = true, HelpName = "FILE" };
    public static readonly Option<string?> RunProfile = new("--profile") { Description = "Hardware profile name or .json path; overrides runtime.profile.", HelpName = "NAME|PATH" };
    public static readonly Option<string?> RunProfilesDir = new("--profiles-dir") { Description = "Directory searched first for profiles.", HelpName = "DIR" };
    public static readonly Option<string?> RunBroker = new("--broker") { Description = "embedded, mqtt://host:port or mqtts://host:port; overrides runtime.broker.", HelpName = "URI" };
    public static readonly Option<bool> RunNoWatch = new("--no-watch") { Description = "Do not reload the file when it changes." };
    public static readonly Option<string?> RunLogLevel = new Option<string?>("--log-level") { Description = "trace, debug, info (default), warning or error.", HelpName = "LEVEL" }.AcceptOnlyFromAmong(LogLevels);
    public static readonly Option<string> RunLogFormat = new Option<string>("--log-format") { Description = "console (default) or json.", DefaultValueFactory = _ => "console", HelpName = "FORMAT" }.AcceptOnlyFromAmong("console", "json");

    // demo
    public static readonly Option<int> DemoPort = new("--port") { Description = "Embedded broker port (default 1883; simulators listen on 15021 up); 0 picks free ports for both.", DefaultValueFactory = _ => 1883, HelpName = "N" };
    public static readonly Option<int> DemoDevices = new("--devices") { Description = "Simulated devices, and as many protocol converters: 1-50 (default 3).", DefaultValueFactory = _ => 3, HelpName = "N" };
    public static readonly Option<string?> DemoDuration = new("--duration") { Description = "Stop gracefully after this long (a duration such as 30s or 1m30s, or seconds).", HelpName = "D" };
    public static readonly Option<bool> DemoPlain = new("--plain") { Description = "Print the table every 5 s without escape codes (the default when stdout is not a terminal)." };
    public static readonly Option<bool> DemoFaults = new("--faults") { Description = "Stop one simulator for 10 s every 30 s, in turn." };
    public static readonly Option<bool> DemoPrintConfig = new("--print-config") { Description = "Print the built-in configuration (YAML) and exit." };
    public static readonly Option<string?> DemoProfile = new("--profile") { Description = "Hardware profile name or .json path (default: this architecture's).", HelpName = "NAME|PATH" };

    // validate
    public static readonly Argument<string> ValidateFile = new("FILE") { Description = "The configuration file to check." };
    public static readonly Option<string?> ValidateProfile = new("--profile") { Description = "Validate against this profile instead of runtime.profile.", HelpName = "NAME|PATH" };
    public static readonly Option<string?> ValidateProfilesDir = new("--profiles-dir") { Description = "Directory searched first for profiles.", HelpName = "DIR" };
    public static readonly Option<bool> ValidateJson = new("--json") { Description = "Print findings as JSON objects {file, line, column, severity, code, path, message}." };

    // profiles
    public static readonly Option<string?> ProfilesShow = new("--show") { Description = "Print one profile in full, with its GC advice.", HelpName = "NAME" };
    public static readonly Option<bool> ProfilesJson = new("--json") { Description = "Print JSON." };
    public static readonly Option<string?> ProfilesDir = new("--profiles-dir") { Description = "Directory searched first for profiles.", HelpName = "DIR" };

    // calibrate
    public static readonly Option<string> CalibrateProfile = new("--profile") { Description = "The hardware profile to judge this machine against (name or .json path).", Required = true, HelpName = "NAME|PATH" };
    public static readonly Option<string?> CalibrateProfilesDir = new("--profiles-dir") { Description = "Directory searched first for profiles (also the profiles listed as satisfied).", HelpName = "DIR" };
    public static readonly Option<int?> CalibrateTicks = new("--ticks") { Description = "Steady ticks, and change ticks (default: the profile's calibration.ticks).", HelpName = "N" };
    public static readonly Option<string?> CalibrateTimerDuration = new("--timer-duration") { Description = "How long to tick at the profile's interval to measure timer lateness (default 5s).", HelpName = "D" };
    public static readonly Option<string?> CalibrateJson = new("--json") { Description = "Also write the numbers and the verdict as JSON to FILE.", HelpName = "FILE" };
    public static readonly Option<bool> CalibrateReportOnly = new("--report-only") { Description = "Print the report and exit 0 whatever the verdict (runs under emulation)." };

    /// <summary>One documented option: the verb, the symbol and arguments that exercise it.</summary>
    public sealed record OptionRow(string Verb, Option Option, string[] Sample);

    /// <summary>Every option of every verb, with a sample use (the test of §2.1 parses each).</summary>
    public static IReadOnlyList<OptionRow> Rows { get; } =
    [
        new("run", RunConfig, ["--config", "plant.yaml"]),
        new("run", RunProfile, ["--config", "plant.yaml", "--profile", "x64-gateway"]),
        new("run", RunProfilesDir, ["--config", "plant.yaml", "--profiles-dir", "/tmp"]),
        new("run", RunBroker, ["--config", "plant.yaml", "--broker", "mqtt://127.0.0.1:1883"]),
        new("run", RunNoWatch, ["--config", "plant.yaml", "--no-watch"]),
        new("run", RunLogLevel, ["--config", "plant.yaml", "--log-level", "debug"]),
        new("run", RunLogFormat, ["--config", "plant.yaml", "--log-format", "json"]),
        new("demo", DemoPort, ["--port", "0"]),
        new("demo", DemoDevices, ["--devices", "5"]),
        new("demo", DemoDuration, ["--duration", "20s"]),
        new("demo", DemoPlain, ["--plain"]),
        new("demo", DemoFaults, ["--faults"]),
        new("demo", DemoPrintConfig, ["--print-config"]),
        new("demo", DemoProfile, ["--profile", "arm64-small"]),
        new("validate", ValidateProfile, ["plant.yaml", "--profile", "arm64-small"]),
        new("validate", ValidateProfilesDir, ["plant.yaml", "--profiles-dir", "/tmp"]),
        new("validate", ValidateJson, ["plant.yaml", "--json"]),
        new("calibrate", CalibrateProfile, ["--profile", "x64-server"]),
        new("calibrate", CalibrateProfilesDir, ["--profile", "x64-server", "--profiles-dir", "/tmp"]),
        new("calibrate", CalibrateTicks, ["--profile", "x64-server", "--ticks", "500"]),
        new("calibrate", CalibrateTimerDuration, ["--profile", "x64-server", "--timer-duration", "2s"]),
        new("calibrate", CalibrateJson, ["--profile", "x64-server", "--json", "out.json"]),
        new("calibrate", CalibrateReportOnly, ["--profile", "x64-server", "--report-only"]),
        new("profiles", ProfilesShow, ["--show", "x64-server"]),
        new("profiles", ProfilesJson, ["--json"]),
        new("profiles", ProfilesDir, ["--profiles-dir", "/tmp"]),
    ];
}
