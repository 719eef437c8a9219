namespace Fsm2.Edge.Workers;

/// <summary>Per worker type settings given at registration.</summary>
public sealed record WorkerTypeOptions
{
    /// <summary>Overrides the runtime's observation interval for this type; zero or absent keeps the runtime's.</summary>
    public TimeSpan ObservationInterval { get; init; }
}
