using System.CommandLine;
using Fsm2.Edge.Config;
using Fsm2.Edge.Host.Demo;

namespace Fsm2.Edge.Host.Commands;

/// <summary>Builds the <c>fsm2-edge</c> command tree from <see cref="CommandTable"/> and runs a command line.</summary>
internal static class Cli
{
    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code (§2.2).</summary>
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, HostSignals signals)
    {
        RootCommand root = Build(output, error, signals);
        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = error,

            // Signals are the host's (HostSignals): System.CommandLine must neither cancel nor time the drain.
            ProcessTerminationTimeout = null,
        };

        if (args.Length == 0)
        {
            // M-01: no verb prints the verb list and is a usage error.
            await root.Parse(["--help"]).InvokeAsync(invocation).ConfigureAwait(false);
            return ExitCodes.UsageOrConfig;
        }

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError parseError in parsed.Errors)
            {
                await error.WriteLineAsync(parseError.Message).ConfigureAwait(false);
            }

            await error.WriteLineAsync("Run 'fsm2-edge --help' or 'fsm2-edge <verb> --help'.").ConfigureAwait(false);
            return ExitCodes.UsageOrConfig;
        }

        return await parsed.InvokeAsync(invocation).ConfigureAwait(false);
    }

    public static RootCommand Build(TextWriter output, TextWriter error, HostSignals signals)
    {
        var root = new RootCommand("fsm2-edge: the Fsm2.Edge runtime host.\n\n" + ExitCodes.HelpText);

        var run = new Command("run", "Run the configured worker tree until SIGINT/SIGTERM (graceful drain within the profile's shutdown budget).")
        {
            CommandTable.RunConfig, CommandTable.RunProfile, CommandTable.RunProfilesDir, CommandTable.RunBroker,
            CommandTable.RunNoWatch, CommandTable.RunLogLevel, CommandTable.RunLogFormat,
        };
        run.SetAction((parse, _) => EdgeHost.RunAsync(
            new HostOptions
            {
                ConfigFile = parse.GetRequiredValue(CommandTable.RunConfig),
                Profile = parse.GetValue(CommandTable.RunProfile),
                ProfilesDirectory = parse.GetValue(CommandTable.RunProfilesDir),
                Broker = parse.GetValue(CommandTable.RunBroker),
                NoWatch = parse.GetValue(CommandTable.RunNoWatch),
                LogLevel = parse.GetValue(CommandTable.RunLogLevel),
                LogFormat = parse.GetValue(CommandTable.RunLogFormat) ?? "console",
                Out = output,
                Error = error,
            },
            signals));

        var demo = new Command("demo", "Embedded broker, simulated presses and protocol converters bridging them to the UNS, with a live status table; until Ctrl+C or --duration.")
        {
            CommandTable.DemoPort, CommandTable.DemoDevices, CommandTable.DemoDuration, CommandTable.DemoPlain, CommandTable.DemoFaults,
            CommandTable.DemoPrintConfig, CommandTable.DemoProfile,
        };
        demo.SetAction(async (parse, _) =>
        {
            if (!TryDuration(parse.GetValue(CommandTable.DemoDuration), out TimeSpan? duration))
            {
                await error.WriteLineAsync("--duration must be a positive duration such as 30s or 1m30s, or a number of seconds").ConfigureAwait(false);
                return ExitCodes.UsageOrConfig;
            }

            var options = new DemoOptions
            {
                Port = parse.GetValue(CommandTable.DemoPort),
                Devices = parse.GetValue(CommandTable.DemoDevices),
                Duration = duration,
                Plain = parse.GetValue(CommandTable.DemoPlain),
                Faults = parse.GetValue(CommandTable.DemoFaults),
                PrintConfig = parse.GetValue(CommandTable.DemoPrintConfig),
                Profile = parse.GetValue(CommandTable.DemoProfile),
            };

            // In place only on a real terminal: the process's own stdout, not redirected, and not TERM=dumb.
            bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected
                && Environment.GetEnvironmentVariable("TERM") is not "dumb";
            return await DemoCommand.RunAsync(options, output, error, signals, terminal).ConfigureAwait(false);
        });

        var validate = new Command("validate", "Load, validate and dry-derive a configuration file; no broker, no threads.")
        {
            CommandTable.ValidateFile, CommandTable.ValidateProfile, CommandTable.ValidateProfilesDir, CommandTable.ValidateJson,
        };
        validate.SetAction(parse => ValidateCommand.Run(
            parse.GetRequiredValue(CommandTable.ValidateFile),
            parse.GetValue(CommandTable.ValidateProfile),
            parse.GetValue(CommandTable.ValidateProfilesDir),
            parse.GetValue(CommandTable.ValidateJson),
            output));

        var profiles = new Command("profiles", "List the hardware profiles (* marks this architecture's default), or show one.")
        {
            CommandTable.ProfilesShow, CommandTable.ProfilesJson, CommandTable.ProfilesDir,
        };
        profiles.SetAction(parse => ProfilesCommand.Run(
            parse.GetValue(CommandTable.ProfilesShow),
            parse.GetValue(CommandTable.ProfilesJson),
            parse.GetValue(CommandTable.ProfilesDir),
            output,
            error));

        var calibrate = new Command("calibrate", "Measure the W1 tick on this machine against a profile's budgets; verdict PASS, MARGINAL or FAIL (exit 4).")
        {
            CommandTable.CalibrateProfile, CommandTable.CalibrateProfilesDir, CommandTable.CalibrateTicks,
            CommandTable.CalibrateTimerDuration, CommandTable.CalibrateJson, CommandTable.CalibrateReportOnly,
        };
        calibrate.SetAction(parse => CalibrateCommand.Run(
            new CalibrateArguments(
                parse.GetRequiredValue(CommandTable.CalibrateProfile),
                parse.GetValue(CommandTable.CalibrateProfilesDir),
                parse.GetValue(CommandTable.CalibrateTicks),
                parse.GetValue(CommandTable.CalibrateTimerDuration),
                parse.GetValue(CommandTable.CalibrateJson),
                parse.GetValue(CommandTable.CalibrateReportOnly)),
            output,
            error,
            signals.Stopping));

        root.Subcommands.Add(run);
        root.Subcommands.Add(demo);
        root.Subcommands.Add(validate);
        root.Subcommands.Add(profiles);
        root.Subcommands.Add(calibrate);
        return root;
    }

    private static bool TryDuration(string? text, out TimeSpan? value)
    {
        value = null;
        if (text is null)
        {
            return true;
        }

        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0)
        {
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        if (DurationParser.TryParse(text, out TimeSpan parsed) && parsed > TimeSpan.Zero)
        {
            value = parsed;
            return true;
        }

        return false;
    }
}
