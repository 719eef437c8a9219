using Fsm2.Edge.Health;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Supervision;

/// <summary>
/// Restarts and panics (30-supervision §7, §9): the parent breaker's restart of a collector-dead child, and the
/// containment of exceptions from worker code with the panic window.
/// </summary>
public sealed partial class SupervisorNode
{
    // Owner: tick thread. When the collector escalated (stamp), for the restart grace (§7.1).
    private long _collectorDeadAt;

    // Owner: tick thread. Restarts of this node by its parent's breaker (or the root's schedule).
    private int _restartsByParent;

    /// <summary>How often this node was restarted by its parent's breaker (§7.2 step 6).</summary>
    public int RestartCount => _restartsByParent;

    /// <summary>
    /// §7.2: a new worker instance from the stored spec (not re-rendered), in its initial state, with a new collector;
    /// the node keeps its name, identity, path, breakers, panic window, probes, action slot and children. An in-flight
    /// action is not cancelled (40-actions §12.1): the one-in-flight rule is per node, so the new instance enqueues
    /// nothing until that action completes or is abandoned, and then sees its result.
    /// </summary>
    /// <returns><see langword="false"/> when the factory failed (the node keeps its dead flag; the next failed trial retries).</returns>
    internal bool RestartByParent(DateTimeOffset now, string reason, int parentAttempt)
    {
        // Step 1: the old loop is cancelled; the tick does not wait for it.
        StopCollector();

        // Steps 2–3.
        if (!ReplaceWorkerInstance(now))
        {
            return false;
        }

        // Step 4: only the shutdown that collector escalation set is cleared, never one from removal or runtime shutdown.
        _collectorDead = false;
        ClearError(ErrorSource.Collector);
        if (ShutdownRequested && ShutdownReason == ShutdownReason.CollectorUnresponsive)
        {
            ShutdownRequested = false;
            ShutdownReason = ShutdownReason.None;
        }

        // Step 6.
        _restartsByParent++;
        _runtime.Metrics.ChildRestarts.Add(1, new KeyValuePair<string, object?>("node", Path), new KeyValuePair<string, object?>("reason", reason));
        Log.ChildRestarted(_runtime.SupervisionLogger, Path, reason, parentAttempt, _restartsByParent);
        _runtime.MarkStatusDirty();
        return true;
    }

    /// <summary>
    /// Counts one contained exception (§9.1): <c>fsm2_panics_total{node,class,site}</c>, and for Bug and Transient the panic
    /// window, which may open the panic breaker. Counting comes before any logging, so a logger that throws cannot
    /// open the breaker without a recorded panic (§13 defect 11).
    /// </summary>
    private PanicClass CountPanic(Exception exception, string site, PanicClass? forced = null)
    {
        PanicClass panicClass = forced ?? ExceptionClassifier.Classify(exception);
        KeyValuePair<string, object?> node = new("node", Path);
        _runtime.Metrics.Panics.Add(1, node, new KeyValuePair<string, object?>("class", panicClass.ToTag()), new KeyValuePair<string, object?>("site", site));
        if (panicClass != PanicClass.Config && _panic.Record(_runtime.TickStamp, _runtime.PanicWindowStamp, panicClass))
        {
            _runtime.Metrics.PanicBreakerOpened.Add(1, node);
            _runtime.MarkStatusDirty();
            Log.PanicBreakerOpened(_runtime.SupervisionLogger, Path, _panic.Count, _panic.Classes());
        }

        return panicClass;
    }

    /// <summary>Counts, records the node error (with its class) and logs <c>tick_panic</c> with the stack (§9.2).</summary>
    private void ContainPanic(Exception exception, string site, DateTimeOffset now, ErrorSource source, string message, PanicClass? forced = null)
    {
        PanicClass panicClass = CountPanic(exception, site, forced);
        SetError(source, message, now, panicClass);
        Log.TickPanic(_runtime.SupervisionLogger, Path, site, panicClass.ToTag(), exception.GetType().Name, exception.Message, exception);
    }

    /// <summary>
    /// §9.4, the node's outer guard: an exception that escaped the node's tick (for example from a logger while a
    /// panic was being contained) counts as one Bug panic at site <c>supervision</c>; if containing it fails again, it
    /// is swallowed, so the tick thread survives and the remaining nodes are ticked.
    /// </summary>
    private void ContainSupervisionFault(Exception exception, DateTimeOffset now)
    {
        try
        {
            ContainPanic(exception, "supervision", now, ErrorSource.Evaluate, $"tick of '{Path}' failed: {exception.Message}", PanicClass.Bug);
        }
        catch (Exception second) when (second is not InvariantViolationException)
        {
            // Containment itself failed (the logger throws again): the panic is already counted; nothing else is safe.
        }
    }
}
