using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Fsm2.Edge.Workers.Calibration;

/// <summary>
/// Prints a <see cref="CalibrationResult"/> as the table of 50-runtime-monitoring §11.3, or writes the same numbers as
/// JSON (<c>--json FILE</c>). Times in the JSON are microseconds (<c>…Us</c>) as doubles; the verdict is
/// <c>PASS</c>, <c>MARGINAL</c> or <c>FAIL</c>.
/// </summary>
public static class CalibrationReportWriter
{
    /// <summary>The verdict as printed and written: <c>PASS</c>, <c>MARGINAL</c> or <c>FAIL</c>.</summary>
    /// <param name="verdict">The verdict.</param>
    /// <returns>Its text.</returns>
    public static string VerdictText(CalibrationVerdict verdict) => verdict switch
    {
        CalibrationVerdict.Pass => "PASS",
        CalibrationVerdict.Marginal => "MARGINAL",
        _ => "FAIL",
    };

    /// <summary>Writes machine facts, the table, the verdict line, each violated rule and the satisfied profiles.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="result">The calibration.</param>
    public static void WriteTable(TextWriter output, CalibrationResult result)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(result);
        CalibrationMeasurements m = result.Measurements;
        Config.HardwareProfile p = result.Profile;
        MachineFacts machine = result.Machine;
        string cpu = machine.Cpu.Length == 0 ? "" : ", " + machine.Cpu;
        Line(output, $"machine  : {machine.Architecture}, {machine.Cores} cores, {machine.MemoryMb} MB{cpu}");
        Line(output, $"runtime  : {machine.Runtime}, {machine.Os}, GC {machine.GcMode}");
        Line(output, $"thread   : priority {m.RequestedPriority} requested, {m.AppliedPriority} applied");
        Line(output, $"profile  : {p.Name} (tick {p.Tick.IntervalMs} ms, p99 budget {Time(p.Tick.BudgetP99Us)}, max {Time(p.Tick.BudgetMaxUs)})");
        Line(output, $"workload : W1, {m.Workers} workers / {m.Levels} levels, {m.Ticks} ticks after {m.WarmupTicks} warm-up");

        IReadOnlyList<CalibrationRule> rules = result.Rules;
        CalibrationRule Rule(string id) => rules.First(r => r.Id == id);
        CalibrationRule p99 = Rule("steady_p99");
        CalibrationRule max = Rule("steady_max");
        string steadyResult = (p99.Passed, max.Passed) switch
        {
            (true, true) => "ok",
            (false, true) => "FAIL (p99)",
            (true, false) => "FAIL (max)",
            _ => "FAIL (p99, max)",
        };

        Line(output, $"{"",-16}{"p50",9}{"p90",9}{"p99",9}{"max",9}{"budget",11}   result");
        Row(output, "steady tick", m.Steady, Time(p.Tick.BudgetP99Us), steadyResult);
        Row(output, "change tick", m.Change, Time(Rule("change_p99").Limit), Ok(Rule("change_p99")));
        Row(output, "timer lateness", m.TimerLateness, Time(Rule("timer_lateness_p99").Limit), Ok(Rule("timer_lateness_p99")));
        Line(output, $"{"alloc/steady tick",-17}{Bytes(m.AllocBytesPerSteadyTick),8}{"",27}{"0 B",11}   {Ok(Rule("steady_alloc"))}");
        Line(output, $"{"gen2 GCs",-16}{m.SteadyGen2,9}{"",27}{"0",11}   {Ok(Rule("steady_gen2"))}");
        if (m.RingEnqueue.Count > 0)
        {
            Line(output, $"{"ring enqueue",-16}{Time(m.RingEnqueue.P50),9}{Time(m.RingEnqueue.P90),9}{Time(m.RingEnqueue.P99),9}{"",9}{"-",11}   info");
        }
        else
        {
            Line(output, $"{"ring enqueue",-16}{"n/a",9}{"",27}{"-",11}   info");
        }

        output.WriteLine(
            string.Create(CultureInfo.InvariantCulture, $"notes    : gen0/gen1 GCs during steady ticks {m.SteadyGen0}/{m.SteadyGen1}; {m.Change.Count} leaf changes, {m.ChangeRenders} renders; ")
            + string.Create(CultureInfo.InvariantCulture, $"{m.TimerLateness.Count} timer ticks at {m.TimerIntervalMs} ms; ring {p.Actions.RingCapacity} / {p.Actions.Threads} threads, ")
            + string.Create(CultureInfo.InvariantCulture, $"{m.RingActions} actions (per action: Next + enqueue + completion, wake amortised)"));

        string headroom = double.IsInfinity(result.Headroom) ? "∞" : result.Headroom.ToString("0.0", CultureInfo.InvariantCulture);
        Line(output, $"VERDICT: {VerdictText(result.Verdict)} (headroom {headroom}x on steady p99)");
        foreach (CalibrationRule rule in result.Violations)
        {
            Line(output, $"  violated {rule.Id}: measured {Value(rule.Measured, rule.Unit)}, limit {Value(rule.Limit, rule.Unit)} ({rule.Description})");
        }

        if (result.Verdict != CalibrationVerdict.Pass)
        {
            string satisfied = result.SatisfiedProfiles.Count == 0 ? "none" : string.Join(", ", result.SatisfiedProfiles);
            Line(output, $"profiles these numbers satisfy: {satisfied}");
        }
    }

    /// <summary>The same numbers as JSON (one object, indented).</summary>
    /// <param name="result">The calibration.</param>
    /// <returns>The JSON text.</returns>
    public static string ToJson(CalibrationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        CalibrationMeasurements m = result.Measurements;
        Config.HardwareProfile p = result.Profile;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("verdict", VerdictText(result.Verdict));
            w.WriteString("profile", p.Name);
            w.WriteString("profileFile", p.SourceFile);
            w.WriteNumber("tickIntervalMs", p.Tick.IntervalMs);
            w.WriteNumber("budgetP99Us", p.Tick.BudgetP99Us);
            w.WriteNumber("budgetMaxUs", p.Tick.BudgetMaxUs);
            if (!double.IsInfinity(result.Headroom))
            {
                w.WriteNumber("headroom", Math.Round(result.Headroom, 3));
            }

            w.WriteStartObject("machine");
            w.WriteString("architecture", result.Machine.Architecture);
            w.WriteNumber("cores", result.Machine.Cores);
            w.WriteNumber("memoryMb", result.Machine.MemoryMb);
            w.WriteString("cpu", result.Machine.Cpu);
            w.WriteString("os", result.Machine.Os);
            w.WriteString("runtime", result.Machine.Runtime);
            w.WriteString("gc", result.Machine.GcMode);
            w.WriteString("requestedPriority", m.RequestedPriority);
            w.WriteString("appliedPriority", m.AppliedPriority);
            w.WriteEndObject();

            w.WriteStartObject("workload");
            w.WriteString("id", "W1");
            w.WriteNumber("workers", m.Workers);
            w.WriteNumber("levels", m.Levels);
            w.WriteNumber("ticks", m.Ticks);
            w.WriteNumber("warmupTicks", m.WarmupTicks);
            w.WriteEndObject();

            Summary(w, "steadyTick", m.Steady);
            Summary(w, "changeTick", m.Change);
            Summary(w, "timerLateness", m.TimerLateness);
            Summary(w, "ringEnqueue", m.RingEnqueue);
            w.WriteNumber("allocBytesPerSteadyTick", m.AllocBytesPerSteadyTick);
            w.WriteNumber("allocBytesSteadyTotal", m.SteadyAllocatedBytes);
            w.WriteStartObject("steadyGcCounts");
            w.WriteNumber("gen0", m.SteadyGen0);
            w.WriteNumber("gen1", m.SteadyGen1);
            w.WriteNumber("gen2", m.SteadyGen2);
            w.WriteEndObject();
            w.WriteNumber("changeRenders", m.ChangeRenders);
            w.WriteNumber("timerIntervalMs", m.TimerIntervalMs);
            w.WriteNumber("ringActions", m.RingActions);

            w.WriteStartArray("rules");
            foreach (CalibrationRule rule in result.Rules)
            {
                w.WriteStartObject();
                w.WriteString("rule", rule.Id);
                w.WriteBoolean("passed", rule.Passed);
                w.WriteNumber("measured", Math.Round(rule.Measured, 3));
                w.WriteNumber("limit", Math.Round(rule.Limit, 3));
                w.WriteString("unit", rule.Unit);
                w.WriteString("description", rule.Description);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("violations");
            foreach (CalibrationRule rule in result.Violations)
            {
                w.WriteStringValue(rule.Id);
            }

            w.WriteEndArray();
            w.WriteStartArray("satisfiedProfiles");
            foreach (string name in result.SatisfiedProfiles)
            {
                w.WriteStringValue(name);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A duration in µs as the table prints it: <c>45 ns</c>, <c>8.5 µs</c>, <c>88 µs</c>, <c>1.9 ms</c>, <c>25 ms</c>.</summary>
    /// <param name="microseconds">The duration.</param>
    /// <returns>The text.</returns>
    public static string Time(double microseconds) => microseconds switch
    {
        < 1 => string.Create(CultureInfo.InvariantCulture, $"{microseconds * 1000:0} ns"),
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{microseconds:0.0} µs"),
        < 1000 => string.Create(CultureInfo.InvariantCulture, $"{microseconds:0} µs"),
        < 100_000 => string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:0.#} ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:0} ms"),
    };

    private static string Bytes(double perTick) => string.Create(CultureInfo.InvariantCulture, $"{perTick:0.#} B");

    private static string Value(double value, string unit) => unit switch
    {
        "us" => Time(value),
        "B/tick" => string.Create(CultureInfo.InvariantCulture, $"{value:0.#} B/tick"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{value:0} {unit}"),
    };

    private static string Ok(CalibrationRule rule) => rule.Passed ? "ok" : "FAIL";

    private static void Row(TextWriter output, string label, LatencySummary s, string budget, string result)
        => Line(output, $"{label,-16}{Time(s.P50),9}{Time(s.P90),9}{Time(s.P99),9}{Time(s.Max),9}{budget,11}   {result}");

    private static void Line(TextWriter output, FormattableString text) => output.WriteLine(text.ToString(CultureInfo.InvariantCulture));

    private static void Summary(Utf8JsonWriter w, string name, LatencySummary s)
    {
        w.WriteStartObject(name);
        w.WriteNumber("samples", s.Count);
        w.WriteNumber("p50Us", Math.Round(s.P50, 3));
        w.WriteNumber("p90Us", Math.Round(s.P90, 3));
        w.WriteNumber("p99Us", Math.Round(s.P99, 3));
        w.WriteNumber("maxUs", Math.Round(s.Max, 3));
        w.WriteEndObject();
    }
}
