namespace Fsm2.Edge.Health.Probes;

/// <summary>Metric tag values of <see cref="ProbeOutcome"/> (cached strings).</summary>
internal static class ProbeOutcomeTags
{
    public static string ToTag(this ProbeOutcome outcome) => outcome switch
    {
        ProbeOutcome.Success => "success",
        ProbeOutcome.Miss => "miss",
        ProbeOutcome.Disconnected => "disconnected",
        _ => "refused",
    };
}
