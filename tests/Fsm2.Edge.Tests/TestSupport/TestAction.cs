using System.Collections.Concurrent;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>
/// A scriptable action that records where and how it ran. It always honours its token, so a blocked action ends when
/// the executor cancels it (timeout, removal, shutdown) and never keeps an action thread busy after a test.
/// </summary>
public sealed class TestAction(string kind = "test-action", TimeSpan? timeout = null) : IAction
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _starts;
    private int _ends;
    private int _running;
    private int _maxConcurrent;

    public string Kind { get; } = kind;

    public TimeSpan? Timeout { get; } = timeout;

    /// <summary>When set, each execution waits until <see cref="Release"/> is called (or its token is cancelled).</summary>
    public bool Block { get; init; }

    /// <summary>When set, each execution throws this exception.</summary>
    public Exception? Throws { get; init; }

    public int Starts => Volatile.Read(ref _starts);

    public int Ends => Volatile.Read(ref _ends);

    /// <summary>The highest number of executions of this action that ran at the same time.</summary>
    public int MaxConcurrent => Volatile.Read(ref _maxConcurrent);

    /// <summary>Names of the threads that started an execution.</summary>
    public ConcurrentQueue<string?> ThreadNames { get; } = new();

    /// <summary>The token of the latest execution.</summary>
    public CancellationToken LastToken { get; private set; }

    /// <summary>The runtime clock's time when the latest execution's token was cancelled.</summary>
    public DateTimeOffset? CancelledAt { get; private set; }

    /// <summary>The runtime clock's time when the latest execution started.</summary>
    public DateTimeOffset? StartedAt { get; private set; }

    /// <summary>Lets every blocked and future execution finish.</summary>
    public void Release() => _release.TrySetResult();

    public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        int running = Interlocked.Increment(ref _running);
        int max;
        while (running > (max = Volatile.Read(ref _maxConcurrent)) && Interlocked.CompareExchange(ref _maxConcurrent, running, max) != max)
        {
        }

        ThreadNames.Enqueue(Thread.CurrentThread.Name);
        StartedAt = context.Time.GetUtcNow();
        LastToken = cancellationToken;

        // Not disposed on purpose: disposing could unregister the callback while the cancellation that completes the
        // wait below is still running its callbacks. The executor disposes the token source after the action.
        _ = cancellationToken.Register(() => CancelledAt = context.Time.GetUtcNow());
        Interlocked.Increment(ref _starts);
        try
        {
            if (Throws is not null)
            {
                throw Throws;
            }

            if (Block)
            {
                await _release.Task.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            Interlocked.Increment(ref _ends);
        }
    }
}
