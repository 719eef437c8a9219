namespace Fsm2.Edge.Health.Probes;

/// <summary>The result of one probe run (30-supervision §10.1).</summary>
public enum ProbeOutcome : byte
{
    /// <summary>The dependency answered in time; makes the verdict healthy and resets the miss count.</summary>
    Success,

    /// <summary>No (matching) answer in time; unhealthy once consecutive misses reach the probe's threshold.</summary>
    Miss,

    /// <summary>The probe has no connection to the dependency; unhealthy at once.</summary>
    Disconnected,

    /// <summary>The dependency rejected the probe (for example an ACL); unhealthy at once.</summary>
    Refused,
}
