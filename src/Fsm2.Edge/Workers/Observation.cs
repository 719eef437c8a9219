using System.Diagnostics;

namespace Fsm2.Edge.Workers;

/// <summary>
/// An immutable envelope around one successful collection. The collector stamps it; workers never supply timestamps.
/// </summary>
/// <typeparam name="TObserved">The worker's observation type.</typeparam>
[DebuggerDisplay("#{Sequence} at {CollectedAt}")]
public sealed class Observation<TObserved>
    where TObserved : class
{
    /// <summary>Creates an observation envelope.</summary>
    /// <param name="value">The collected value; never <see langword="null"/>.</param>
    /// <param name="collectedAt">The time the collection started, from the runtime's <see cref="TimeProvider"/>.</param>
    /// <param name="sequence">Strictly increasing per worker instance, starting at 1.</param>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <see langword="null"/>.</exception>
    public Observation(TObserved value, DateTimeOffset collectedAt, long sequence)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
        CollectedAt = collectedAt;
        Sequence = sequence;
    }

    /// <summary>The observed value.</summary>
    public TObserved Value { get; }

    /// <summary>When the collection that produced this value started.</summary>
    public DateTimeOffset CollectedAt { get; }

    /// <summary>Strictly increasing per worker instance.</summary>
    public long Sequence { get; }
}
