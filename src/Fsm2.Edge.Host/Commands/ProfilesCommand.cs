using System.Globalization;
using System.Text;
using System.Text.Json;
using Fsm2.Edge.Config;

namespace Fsm2.Edge.Host.Commands;

/// <summary>
/// <c>fsm2-edge profiles</c> (50-runtime-monitoring §2.1, §11): one row per profile (name, arch, tick interval, p99
/// budget, action threads, ring capacity, description), <c>*</c> on this architecture's default; <c>--show NAME</c>
/// prints one profile with the environment variables its GC advice needs.
/// </summary>
internal static class ProfilesCommand
{
    public static int Run(string? show, bool json, string? profilesDirectory, TextWriter output, TextWriter error)
    {
        ProfileLookup lookup = HostEnvironment.Profiles(profilesDirectory);
        if (show is not null)
        {
            ProfileLoadResult one = HardwareProfileLoader.Load(show, lookup);
            foreach (ConfigFinding finding in one.Findings)
            {
                error.WriteLine(finding.ToString());
            }

            if (!one.Succeeded)
            {
                return one.DirectoryUnreadable ? ExitCodes.RuntimeFailure : ExitCodes.UsageOrConfig;
            }

            output.WriteLine(json ? ToJson([one.Profile]) : Describe(one.Profile));
            return ExitCodes.Success;
        }

        (IReadOnlyList<HardwareProfile> profiles, IReadOnlyList<ConfigFinding> findings, bool unreadable) = HardwareProfileLoader.List(lookup);
        foreach (ConfigFinding finding in findings)
        {
            error.WriteLine(finding.ToString());
        }

        if (unreadable && profiles.Count == 0)
        {
            error.WriteLine("the profile directory could not be read");
            return ExitCodes.RuntimeFailure;
        }

        if (json)
        {
            output.WriteLine(ToJson(profiles));
            return findings.Any(static f => f.IsError) ? ExitCodes.UsageOrConfig : ExitCodes.Success;
        }

        string defaultName = HardwareProfileLoader.DefaultProfileName;
        output.WriteLine($"  {"NAME",-15} {"ARCH",-6} {"TICK",-7} {"P99",-8} {"THREADS",-8} {"RING",-6} DESCRIPTION");
        foreach (HardwareProfile p in profiles)
        {
            string mark = p.Name == defaultName ? "*" : " ";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mark} {p.Name,-15} {p.Arch,-6} {p.Tick.IntervalMs + "ms",-7} {FormatUs(p.Tick.BudgetP99Us),-8} {p.Actions.Threads,-8} {p.Actions.RingCapacity,-6} {p.Description}"));
        }

        output.WriteLine($"* = default on this machine ({System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()})");
        return findings.Any(static f => f.IsError) ? ExitCodes.UsageOrConfig : ExitCodes.Success;
    }

    private static string FormatUs(int us) => us >= 1000 && us % 1000 == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{us / 1000}ms")
        : string.Create(CultureInfo.InvariantCulture, $"{us}µs");

    private static string Describe(HardwareProfile p)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"profile  : {p.Name} ({p.Arch}) — {p.Description}");
        text.AppendLine(CultureInfo.InvariantCulture, $"file     : {p.SourceFile}");
        text.AppendLine(CultureInfo.InvariantCulture, $"tick     : {p.Tick.IntervalMs} ms, budget p99 {FormatUs(p.Tick.BudgetP99Us)} / max {FormatUs(p.Tick.BudgetMaxUs)}, priority {p.Tick.ThreadPriority}");
        text.AppendLine(CultureInfo.InvariantCulture, $"actions  : {p.Actions.Threads} threads, ring {p.Actions.RingCapacity}, timeout {p.Actions.DefaultTimeoutMs} ms, shutdown wait {p.Actions.ShutdownTimeoutMs} ms");
        text.AppendLine(CultureInfo.InvariantCulture, $"observe  : every {p.Observation.IntervalMs} ms, timeout {p.Observation.TimeoutMs} ms, stale {p.Observation.StaleMs} ms, collector timeout {p.Observation.CollectorTimeoutMs} ms");
        text.AppendLine(CultureInfo.InvariantCulture, $"probes   : every {p.Supervision.ProbeIntervalMs} ms, timeout {p.Supervision.ProbeTimeoutMs} ms, {p.Supervision.ProbeMissThreshold} misses");
        text.AppendLine(CultureInfo.InvariantCulture, $"metrics  : every {p.Metrics.IntervalMs} ms, node labels {(p.Metrics.NodeLabels ? "yes" : "no")}");
        text.AppendLine(CultureInfo.InvariantCulture, $"shutdown : budget {p.Shutdown.BudgetMs} ms");
        text.AppendLine(CultureInfo.InvariantCulture, $"broker   : max pending per client {p.Broker.MaxPendingMessagesPerClient}; flow buffer {p.Flows.BufferCapacity}");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"gc       : {(p.Gc.Server ? "server" : "workstation")}, {(p.Gc.Concurrent ? "concurrent" : "non-concurrent")}, hard limit {(p.Gc.HeapHardLimitMb == 0 ? "none" : p.Gc.HeapHardLimitMb + " MB")}, conserve {p.Gc.ConserveMemory}");
        text.AppendLine("GC settings apply only at process start; set these before starting fsm2-edge:");
        foreach (KeyValuePair<string, string> env in p.Gc.Env.OrderBy(static e => e.Key, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  export {env.Key}={env.Value}");
        }

        return text.ToString().TrimEnd();
    }

    private static string ToJson(IEnumerable<HardwareProfile> profiles)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (HardwareProfile p in profiles)
            {
                writer.WriteStartObject();
                writer.WriteString("name", p.Name);
                writer.WriteString("arch", p.Arch);
                writer.WriteString("description", p.Description);
                writer.WriteBoolean("default", p.Name == HardwareProfileLoader.DefaultProfileName);
                writer.WriteNumber("tickIntervalMs", p.Tick.IntervalMs);
                writer.WriteNumber("budgetP99Us", p.Tick.BudgetP99Us);
                writer.WriteNumber("budgetMaxUs", p.Tick.BudgetMaxUs);
                writer.WriteNumber("actionThreads", p.Actions.Threads);
                writer.WriteNumber("ringCapacity", p.Actions.RingCapacity);
                writer.WriteNumber("shutdownBudgetMs", p.Shutdown.BudgetMs);
                writer.WriteString("file", p.SourceFile);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
