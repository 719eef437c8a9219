namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>The one way integration tests wait: on a condition or signal, with a timeout, never a fixed sleep.</summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Spins (yielding) until <paramref name="condition"/> holds or the timeout elapses.</summary>
    public static void Until(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var spin = new SpinWait();
        long deadline = Environment.TickCount64 + (long)(timeout ?? DefaultTimeout).TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"timed out waiting for: {what}");
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Awaits <paramref name="task"/> with a timeout.</summary>
    public static async Task<T> For<T>(Task<T> task, string what, TimeSpan? timeout = null)
    {
        try
        {
            return await task.WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out waiting for: {what}");
        }
    }
}
