namespace Fsm2.Edge.Health.Probes;

/// <summary>
/// An infrastructure probe attached to one node (30-supervision §10.1): run periodically off the tick thread by the
/// runtime's probe scheduler, its verdicts feed the node's infrastructure breaker.
/// </summary>
/// <remarks>
/// <para>Contract: <see cref="RunAsync"/> never throws to the scheduler (an implementation maps its own failures to
/// <see cref="ProbeOutcome.Miss"/>, <see cref="ProbeOutcome.Disconnected"/> or <see cref="ProbeOutcome.Refused"/>), and
/// the scheduler never overlaps two runs of the same probe, so an implementation needs no locking of its own state
/// between runs.</para>
/// <para>A probe that holds connections implements <see cref="IAsyncDisposable"/>; the scheduler disposes it when its
/// node is finalized (not when the node is restarted).</para>
/// </remarks>
public interface IInfrastructureProbe
{
    /// <summary>The probe id: <c>[A-Za-z0-9_.-]{1,64}</c>, unique per runtime.</summary>
    string Id { get; }

    /// <summary>Time between the starts of two runs (default 2 s; the scheduler adds ±10 % jitter).</summary>
    TimeSpan Interval { get; }

    /// <summary>How long one run may take before it counts as a miss (default 1 s).</summary>
    TimeSpan Timeout { get; }

    /// <summary>
    /// The most one run may take before the scheduler cancels it (counted a miss). Defaults to <see cref="Timeout"/>; a
    /// probe whose run may include a reconnect (the MQTT probe: one connect attempt of 2 × Timeout, then a round trip of
    /// Timeout) claims more, so the scheduler never cuts that attempt short.
    /// </summary>
    TimeSpan RunBudget => Timeout;

    /// <summary>Consecutive misses after which the verdict turns unhealthy (default 3).</summary>
    int MissThreshold => 3;

    /// <summary>
    /// What an operator checks by hand when this probe keeps failing: the <c>manual_steps</c> of the breaker's escalation
    /// line (50-runtime-monitoring §9.3), e.g. for the MQTT probe
    /// <c>check mqtt://10.0.0.5:1883; mosquitto_sub -t 'fsm2/gw-press-hall/_health/#' -v</c>. The default names the
    /// probe; read only on that rare line, so an implementation may build the text on each call.
    /// </summary>
    string ManualSteps => $"check the target of probe '{Id}'";

    /// <summary>Runs one check; never throws.</summary>
    /// <param name="cancellationToken">Cancelled when the run exceeds its budget or the probe is stopped.</param>
    /// <returns>The outcome of this run.</returns>
    ValueTask<ProbeOutcome> RunAsync(CancellationToken cancellationToken);
}
