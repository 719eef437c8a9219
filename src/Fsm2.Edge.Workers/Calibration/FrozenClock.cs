namespace Fsm2.Edge.Workers.Calibration;

/// <summary>
/// The W1 runtime's clock during a calibration: wall time and timestamps never move, as in the benchmarks
/// (BenchRuntime's fixed fake clock), so observations published during set-up never age, the freshness gate and
/// collector supervision never fire however long the run takes, and every tick takes exactly the same branches. The
/// measuring clock is separate (<see cref="CalibrationSettings.Clock"/>).
/// </summary>
internal sealed class FrozenClock : TimeProvider
{
    private static readonly DateTimeOffset s_epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly long _stamp = System.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => s_epoch;

    public override long GetTimestamp() => _stamp;
}
