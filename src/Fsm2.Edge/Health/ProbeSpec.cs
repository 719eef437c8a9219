namespace Fsm2.Edge.Health;

/// <summary>
/// The declaration of one infrastructure probe attached to a node (30-supervision §10.4): from the node's
/// <see cref="Workers.ChildSpec.Probes"/>, or as a default of its worker type (<see cref="Workers.WorkerTypeOptions.DefaultProbes"/>).
/// A record, so two declarations with equal values are equal and a re-derived, unchanged list does not restart probes.
/// </summary>
/// <param name="Type">The probe type, a key of the runtime's <see cref="ProbeFactory"/>: <c>tcp</c> built in, <c>mqtt</c> from Fsm2.Edge.Mqtt.</param>
/// <param name="Id">
/// <c>[A-Za-z0-9_.-]{1,64}</c>, unique per runtime. For a worker-type default the effective id is the node path with
/// <c>/</c> and <c>:</c> replaced by <c>.</c>, then <c>.</c> and this id, so every node of the type gets its own probe.
/// </param>
/// <param name="Target">What to check; for <c>tcp</c> <c>host:port</c> (an IPv6 literal in brackets: <c>[::1]:1883</c>).</param>
/// <param name="Interval">Time between runs; zero takes the runtime's <c>ProbeInterval</c> (default 2 s).</param>
/// <param name="Timeout">Budget of one run; zero takes the runtime's <c>ProbeTimeout</c> (default 1 s); must be below the interval.</param>
/// <param name="MissThreshold">Consecutive misses that make the verdict unhealthy; 0 takes the runtime's (default 3).</param>
public sealed record ProbeSpec(
    string Type,
    string Id,
    string Target,
    TimeSpan Interval = default,
    TimeSpan Timeout = default,
    int MissThreshold = 0)
{
    /// <summary>The longest probe id (30-supervision §10.1).</summary>
    public const int MaxIdLength = 64;

    /// <summary>Whether <paramref name="id"/> matches <c>[A-Za-z0-9_.-]{1,64}</c>.</summary>
    /// <param name="id">The candidate id.</param>
    /// <returns><see langword="true"/> when valid.</returns>
    public static bool IsValidId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength)
        {
            return false;
        }

        foreach (char c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
