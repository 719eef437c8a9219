namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// Mode-A scenarios run one at a time, after the parallel tests: each steps a fake clock while real action threads and
/// socket collectors settle within a bounded real-time wait, and two such scenarios side by side on 2 cores could
/// outrun those bounds.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ModeAScenarios
{
    public const string Name = "Mode A scenarios";
}
