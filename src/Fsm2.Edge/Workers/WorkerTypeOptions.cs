namespace Fsm2.Edge.Workers;

/// <summary>Per worker type settings given at registration.</summary>
public sealed record WorkerTypeOptions
{
    /// <summary>Overrides the runtime's observation interval for this type; zero or absent keeps the runtime's.</summary>
    public TimeSpan ObservationInterval { get; init; }

    /// <summary>
    /// Probes attached to every node of this type (30-supervision §10.4), before the ones of its
    /// <see cref="ChildSpec.Probes"/>. Each node gets its own probe, with the effective id
    /// <c>{node path, '/' and ':' replaced by '.'}.{id}</c>.
    /// </summary>
    public IReadOnlyList<Health.ProbeSpec>? DefaultProbes { get; init; }
}
