namespace Fsm2.Edge.Collection;

/// <summary>
/// Runs collectors off the tick thread. Production uses <see cref="LoopObservationScheduler"/> (one async loop per
/// collector on <see cref="TimeProvider"/> timers); tests use <see cref="ManualObservationScheduler"/>, which runs due
/// collections on the calling thread through the same publishing path (<see cref="Collector.CollectOnceAsync"/>).
/// </summary>
/// <remarks>
/// The tick thread calls every member; none may block or wait for a collection. A collector is driven by at most one
/// loop per generation, so one worker never has two concurrent collections within one generation.
/// </remarks>
public interface IObservationScheduler
{
    /// <summary>Starts collecting: the first collection at once, then every <see cref="Collector.Interval"/>.</summary>
    /// <param name="collector">The collector; its generation has already been set.</param>
    void Start(Collector collector);

    /// <summary>Abandons the current loop without waiting and starts a new one that collects at once.</summary>
    /// <param name="collector">The collector; its generation has already been bumped.</param>
    void Restart(Collector collector);

    /// <summary>Requests the loop to stop without waiting for it.</summary>
    /// <param name="collector">The collector.</param>
    void Stop(Collector collector);

    /// <summary>
    /// Requests one immediate collection. Requests coalesce through a single-slot trigger: one made during a running
    /// collection causes exactly one more collection right after it.
    /// </summary>
    /// <param name="collector">The collector.</param>
    void RequestCollection(Collector collector);

    /// <summary>
    /// End of a tick: hands the tick's collection requests to whatever wakes the collectors. A scheduler may defer the
    /// wake-ups of <see cref="RequestCollection"/> to this call so they cost the tick thread nothing per request (the
    /// production scheduler does); the runtime calls it once at the end of every tick.
    /// </summary>
    void FlushRequests()
    {
    }
}
