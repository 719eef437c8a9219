using System.Globalization;
using Fsm2.Edge.Config;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Host.Commands;

/// <summary>
/// <c>fsm2-edge calibrate --profile NAME</c> (50-runtime-monitoring §11.3): measures the W1 tick on this machine
/// (<see cref="Calibrator"/>), prints machine facts, the table and a VERDICT line, and exits 0 for PASS and MARGINAL (a
/// MARGINAL run also writes a warning to stderr), 4 for FAIL. <c>--report-only</c> always exits 0 after printing (runs
/// under emulation). <c>--json FILE</c> writes the same numbers. An unknown or invalid profile exits 2, an unreadable
/// profile directory or an unwritable JSON file 1.
/// </summary>
internal static class CalibrateCommand
{
    public static int Run(CalibrateArguments args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        TimeSpan timer = TimeSpan.FromSeconds(5);
        if (args.TimerDuration is not null && (!DurationParser.TryParse(args.TimerDuration, out timer) || timer <= TimeSpan.Zero))
        {
            error.WriteLine($"--timer-duration: '{args.TimerDuration}' is not a positive duration such as 500ms, 5s or 1m30s");
            return ExitCodes.UsageOrConfig;
        }

        if (args.Ticks is < 1)
        {
            error.WriteLine("--ticks: must be at least 1");
            return ExitCodes.UsageOrConfig;
        }

        ProfileLookup lookup = HostEnvironment.Profiles(args.ProfilesDirectory);
        ProfileLoadResult loaded = HardwareProfileLoader.Load(args.Profile, lookup);
        foreach (ConfigFinding finding in loaded.Findings)
        {
            error.WriteLine(finding.ToString());
        }

        if (!loaded.Succeeded)
        {
            return loaded.DirectoryUnreadable ? ExitCodes.RuntimeFailure : ExitCodes.UsageOrConfig;
        }

        HardwareProfile profile = loaded.Profile;
        int ticks = args.Ticks ?? profile.Calibration.Ticks;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"calibrating {profile.Name}: W1 with {profile.Calibration.Workers} workers, {profile.Calibration.WarmupTicks} warm-up + {ticks} steady + {ticks} change ticks, timer phase {timer.TotalSeconds:0.###} s ..."));

        CalibrationResult result;
        try
        {
            result = Calibrator.Run(
                profile,
                new CalibrationSettings { Ticks = ticks, TimerDuration = timer },
                Candidates(profile, lookup),
                cancellationToken);
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("calibration cancelled");
            return ExitCodes.RuntimeFailure;
        }

        CalibrationReportWriter.WriteTable(output, result);
        if (args.JsonFile is not null)
        {
            try
            {
                File.WriteAllText(args.JsonFile, CalibrationReportWriter.ToJson(result));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"--json: cannot write {args.JsonFile}: {ex.Message}");
                return ExitCodes.RuntimeFailure;
            }
        }

        if (result.Verdict == CalibrationVerdict.Marginal)
        {
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"warning: calibrate {profile.Name}: MARGINAL, steady p99 {CalibrationReportWriter.Time(result.Measurements.Steady.P99)} is above {CalibrationJudge.MarginalShare:P0} of the {CalibrationReportWriter.Time(profile.Tick.BudgetP99Us)} budget"));
        }

        if (result.Verdict != CalibrationVerdict.Fail)
        {
            return ExitCodes.Success;
        }

        if (args.ReportOnly)
        {
            output.WriteLine("--report-only: exit code 0 despite the FAIL verdict");
            return ExitCodes.Success;
        }

        return ExitCodes.CalibrationFailed;
    }

    /// <summary>Every profile found, with the judged one in place of (or before) a profile of the same name.</summary>
    private static List<HardwareProfile> Candidates(HardwareProfile judged, ProfileLookup lookup)
    {
        (IReadOnlyList<HardwareProfile> found, _, _) = HardwareProfileLoader.List(lookup);
        var candidates = found.Select(p => p.Name == judged.Name ? judged : p).ToList();
        if (!candidates.Contains(judged))
        {
            candidates.Insert(0, judged);
        }

        return candidates;
    }
}

/// <summary>The parsed options of <c>calibrate</c>.</summary>
internal sealed record CalibrateArguments(string Profile, string? ProfilesDirectory, int? Ticks, string? TimerDuration, string? JsonFile, bool ReportOnly);
