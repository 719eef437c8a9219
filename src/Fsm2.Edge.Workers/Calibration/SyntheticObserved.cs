namespace Fsm2.Edge.Workers.Calibration;

/// <summary>The synthetic worker's observation: whether its simulated process runs, with a version and a value.</summary>
/// <param name="Started">Whether the simulated process runs.</param>
/// <param name="Version">Increments with every new observation object.</param>
/// <param name="Value">An arbitrary payload value.</param>
public sealed record SyntheticObserved(bool Started, long Version, double Value);
