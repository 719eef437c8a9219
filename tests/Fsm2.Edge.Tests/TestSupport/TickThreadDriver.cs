using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>
/// Drives a started runtime (dedicated tick thread) on the harness's fake clock: collections run on the test thread
/// (as a collector would, off the tick thread), then the clock moves one tick interval and the test waits, with a
/// timeout, until the tick thread has finished a tick.
/// </summary>
public static class TickThreadDriver
{
    /// <summary>Runs due collections, advances one tick interval and waits for the tick thread's tick.</summary>
    public static void TickOnTickThread(this Harness harness, int ticks = 1)
    {
        SupervisorRuntime runtime = harness.Runtime;
        for (int i = 0; i < ticks; i++)
        {
            harness.Scheduler.RunDue();
            long before = runtime.TickCount;
            harness.Time.Advance(runtime.Options.TickInterval);
            harness.WaitWithClockKicks(() => runtime.TickCount > before || runtime.Completion.IsCompleted, "a tick on the tick thread");
        }
    }

    /// <summary>
    /// <see cref="Wait.Until"/> that also re-runs the fake clock's due timers every 50 ms without moving time.
    /// </summary>
    /// <remarks>
    /// FakeTimeProvider lets only one thread at a time fire due timers; a thread that finds another one firing returns at
    /// once. When an action or collection thread creates a timer while the test thread advances the clock, the tick
    /// thread's wake-up timer can be left due but unfired. <c>Advance(TimeSpan.Zero)</c> fires it without changing the
    /// time, so the test stays deterministic in fake time.
    /// </remarks>
    public static void WaitWithClockKicks(this Harness harness, Func<bool> condition, string what)
    {
        long nextKick = Environment.TickCount64 + 50;
        Wait.Until(
            () =>
            {
                if (condition())
                {
                    return true;
                }

                if (Environment.TickCount64 >= nextKick)
                {
                    nextKick = Environment.TickCount64 + 50;
                    harness.Time.Advance(TimeSpan.Zero);
                }

                return false;
            },
            what);
    }

    /// <summary>Ticks until <paramref name="task"/> completes (bounded), then returns its result.</summary>
    public static async Task<T> TickUntilAsync<T>(this Harness harness, Task<T> task, string what, int maxTicks = 1_000)
    {
        SupervisorRuntime runtime = harness.Runtime;
        for (int i = 0; i < maxTicks && !task.IsCompleted; i++)
        {
            harness.Scheduler.RunDue();
            long before = runtime.TickCount;
            harness.Time.Advance(runtime.Options.TickInterval);
            harness.WaitWithClockKicks(() => task.IsCompleted || runtime.TickCount > before || runtime.Completion.IsCompleted, what);
            if (runtime.Completion.IsCompleted)
            {
                break;
            }
        }

        return await Wait.For(task, what);
    }

    /// <summary>Drains a started runtime gracefully, driving the ticks the drain needs.</summary>
    public static Task<ShutdownResult> ShutdownStartedAsync(this Harness harness, CancellationToken cancellationToken = default)
        => harness.TickUntilAsync(harness.Runtime.ShutdownAsync(cancellationToken), "the drain of a started runtime");

    /// <summary>Drains a manual-mode runtime gracefully: ticks (one tick interval apart) until the shutdown completes.</summary>
    public static async Task<ShutdownResult> ShutdownManualAsync(this Harness harness, CancellationToken cancellationToken = default)
    {
        Task<ShutdownResult> shutdown = harness.Runtime.ShutdownAsync(cancellationToken);
        TimeSpan interval = harness.Runtime.Options.TickInterval;
        for (int i = 0; i < 1_000 && !shutdown.IsCompleted; i++)
        {
            harness.Step();
            if (!shutdown.IsCompleted)
            {
                harness.Time.Advance(interval);
            }
        }

        return await Wait.For(shutdown, "the drain of a manual-mode runtime");
    }
}
