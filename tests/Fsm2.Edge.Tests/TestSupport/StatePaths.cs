using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>
/// Small state machines built per test (fresh instances, so call counters are not shared between tests that run in
/// parallel).
/// </summary>
public static class StatePaths
{
    /// <summary>
    /// <c>running</c> → (shutdown) <c>stopping</c> → <c>stopped</c> → NeedsRemoval: three evaluations to shut down.
    /// </summary>
    public static LambdaState NewSlowStopper(string name = "running")
    {
        var stopped = new LambdaState("stopped", static (self, in s) => Transition.Emit(self, Signal.NeedsRemoval, "stopped"));
        var stopping = new LambdaState("stopping", (self, in s) => Transition.To(stopped, "stopping"));
        return new LambdaState(name, (self, in s) => s.ShutdownRequested ? Transition.To(stopping, "shutting down") : Transition.To(self));
    }

    /// <summary>Appends the worker's name to <paramref name="log"/> on every evaluation; NeedsRemoval on shutdown.</summary>
    public static LambdaState NewRecorder(List<string> log, string name = "idle") => new(name, (self, in s) =>
    {
        lock (log)
        {
            log.Add(s.Identity.Name);
        }

        return s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self);
    });

    /// <summary>Throws from Next on every evaluation.</summary>
    public static LambdaState NewThrowing(string name = "failing") => new(name, static (self, in s) =>
        throw new InvalidOperationException("boom"));
}

/// <summary>An action that reports its start and runs until the test releases it, optionally ignoring cancellation.</summary>
public sealed class GateAction(bool honourCancellation) : IAction
{
    private readonly TaskCompletionSource<CancellationToken> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _runs;

    public string Kind => "gate";

    /// <summary>Completes with the action's token when the action starts running.</summary>
    public Task<CancellationToken> Started => _started.Task;

    /// <summary>How often the action ran.</summary>
    public int Runs => Volatile.Read(ref _runs);

    /// <summary>Lets the running action return.</summary>
    public void Release() => _release.TrySetResult();

    public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runs);
        _started.TrySetResult(cancellationToken);
        if (honourCancellation)
        {
            await _release.Task.WaitAsync(cancellationToken);
        }
        else
        {
            await _release.Task;
        }
    }
}
