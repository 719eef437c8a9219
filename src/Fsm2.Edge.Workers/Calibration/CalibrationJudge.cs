using System.Globalization;
using Fsm2.Edge.Config;

namespace Fsm2.Edge.Workers.Calibration;

/// <summary>
/// The PASS / MARGINAL / FAIL rules of 50-runtime-monitoring §11.3, as a pure function of a profile and measurements.
/// </summary>
public static class CalibrationJudge
{
    /// <summary>Steady p99 above this share of the budget makes a passing run MARGINAL.</summary>
    public const double MarginalShare = 0.80;

    /// <summary>Change-tick p99 limit as a share of the tick interval.</summary>
    public const double ChangeShare = 0.25;

    /// <summary>Timer lateness p99 limit as a share of the tick interval.</summary>
    public const double LatenessShare = 0.10;

    /// <summary>Evaluates every rule of §11.3 for <paramref name="profile"/>.</summary>
    /// <param name="profile">Budgets and interval.</param>
    /// <param name="m">The measurements.</param>
    /// <returns>The six rules in the order of §11.3.</returns>
    public static IReadOnlyList<CalibrationRule> Rules(HardwareProfile profile, CalibrationMeasurements m)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(m);
        double intervalUs = profile.Tick.IntervalMs * 1000.0;
        double changeLimit = intervalUs * ChangeShare;
        double latenessLimit = intervalUs * LatenessShare;
        return
        [
            new("steady_p99", F($"steady tick p99 ≤ budget_p99_us ({profile.Tick.BudgetP99Us} µs)"), m.Steady.P99, profile.Tick.BudgetP99Us, "us"),
            new("steady_max", F($"steady tick max ≤ budget_max_us ({profile.Tick.BudgetMaxUs} µs)"), m.Steady.Max, profile.Tick.BudgetMaxUs, "us"),
            new("steady_alloc", "0 bytes allocated per steady tick on the tick thread", m.AllocBytesPerSteadyTick, 0, "B/tick"),
            new("steady_gen2", "no gen-2 GC during the steady ticks", m.SteadyGen2, 0, "GCs"),
            new("change_p99", F($"change tick p99 ≤ 25 % of the {profile.Tick.IntervalMs} ms interval ({changeLimit:0.#} µs)"), m.Change.P99, changeLimit, "us"),
            new("timer_lateness_p99", F($"timer lateness p99 ≤ 10 % of the {profile.Tick.IntervalMs} ms interval ({latenessLimit:0.#} µs)"), m.TimerLateness.P99, latenessLimit, "us"),
        ];

        static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The verdict: FAIL when any rule fails; MARGINAL when all pass but steady p99 is above
    /// <see cref="MarginalShare"/> of the budget; PASS otherwise.
    /// </summary>
    /// <param name="profile">Budgets and interval.</param>
    /// <param name="rules">The evaluated rules (from <see cref="Rules"/>).</param>
    /// <param name="m">The measurements.</param>
    /// <returns>The verdict.</returns>
    public static CalibrationVerdict Verdict(HardwareProfile profile, IReadOnlyList<CalibrationRule> rules, CalibrationMeasurements m)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(m);
        if (rules.Any(static r => !r.Passed))
        {
            return CalibrationVerdict.Fail;
        }

        return m.Steady.P99 > profile.Tick.BudgetP99Us * MarginalShare ? CalibrationVerdict.Marginal : CalibrationVerdict.Pass;
    }

    /// <summary>
    /// The candidates whose every rule these measurements satisfy, in the candidates' order. The tick numbers are
    /// those of this run's W1 size, and the timer lateness was measured at this run's interval; both are used as they
    /// are against each candidate's own budgets and interval (lateness hardly depends on the interval).
    /// </summary>
    /// <param name="candidates">Profiles to try (usually every profile found).</param>
    /// <param name="m">The measurements.</param>
    /// <returns>The names of the satisfied profiles.</returns>
    public static IReadOnlyList<string> Satisfied(IEnumerable<HardwareProfile> candidates, CalibrationMeasurements m)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        return [.. candidates.Where(p => Rules(p, m).All(static r => r.Passed)).Select(static p => p.Name)];
    }
}
