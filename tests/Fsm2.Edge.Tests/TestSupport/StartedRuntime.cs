using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>Helpers for tests that start the tick thread on a fake clock.</summary>
public static class StartedRuntime
{
    /// <summary>
    /// Shuts a started runtime down. The drain needs ticks, and ticks need the fake clock to move, so this keeps
    /// running collections and advancing the clock by one tick interval until the shutdown task completes. Call it
    /// from a <c>finally</c>: disposing a started runtime whose drain cannot progress would wait forever.
    /// </summary>
    public static async Task<ShutdownResult> DrainAsync(SupervisorRuntime runtime, ManualObservationScheduler scheduler, FakeTimeProvider time)
    {
        Task<ShutdownResult> shutdown = runtime.ShutdownAsync();
        Wait.Until(
            () =>
            {
                scheduler.RunDue();
                time.Advance(runtime.Options.TickInterval);
                return shutdown.IsCompleted;
            },
            "the drain");
        return await shutdown;
    }

    /// <summary>Runs due collections, moves the clock one tick interval and waits until the tick thread ticked.</summary>
    public static void TickOnTheTickThread(SupervisorRuntime runtime, ManualObservationScheduler scheduler, FakeTimeProvider time)
    {
        long before = runtime.TickCount;
        scheduler.RunDue();
        time.Advance(runtime.Options.TickInterval);
        Wait.Until(() => runtime.TickCount > before, "the tick thread to tick");
    }
}
