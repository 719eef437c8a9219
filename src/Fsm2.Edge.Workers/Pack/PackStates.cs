namespace Fsm2.Edge.Workers.Pack;

/// <summary>State and desired-state names shared by the pack's worker types (50-runtime-monitoring §7.0).</summary>
internal static class PackStates
{
    public const string Active = "active";
    public const string Stopped = "stopped";
    public const string Degraded = "degraded";
}
