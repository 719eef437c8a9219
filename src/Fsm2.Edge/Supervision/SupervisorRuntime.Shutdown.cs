using Fsm2.Edge.Observability;

namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorRuntime
{
    private readonly Lock _shutdownLock = new();
    private readonly TaskCompletionSource<ShutdownResult> _drain = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<ShutdownResult>? _shutdownTask;

    // Shared: set by ShutdownAsync (any thread), read by the tick.
    private int _shutdownRequested;
    private int _forceRequested;

    // Owner: tick thread.
    private DateTimeOffset? _shutdownStartedAt;

    /// <summary>Whether a runtime shutdown has started (tick-thread view).</summary>
    internal bool IsShuttingDown => _shutdownStartedAt is not null;

    /// <summary>
    /// Whether <see cref="ShutdownAsync"/> (or a forced stop) was requested. Safe from any thread; the monitoring publisher
    /// reads it to tell nodes finalized by the runtime's shutdown (their retained status stays) from nodes removed from the
    /// declaration (their retained status is cleared).
    /// </summary>
    public bool ShutdownRequested => Volatile.Read(ref _shutdownRequested) != 0;

    /// <summary>
    /// Graceful shutdown (§6.2): the root gets <c>ShutdownRequested</c> on the next tick, so the whole tree is removed
    /// depth-first, every subtree in parallel. Ticking continues until the tree has drained or
    /// <see cref="RuntimeOptions.ShutdownBudget"/> expires; then what is left is force-finalized in one tick and
    /// <c>shutdown_budget_exceeded</c> is logged. Idempotent: a second call returns the same task.
    /// </summary>
    /// <remarks>
    /// In manual mode the caller keeps calling <see cref="TickOnce"/>; the drain and the budget are evaluated inside
    /// the tick. With a started runtime the tick thread does it and stops when the drain ends.
    /// </remarks>
    /// <param name="cancellationToken">Cancelling it force-finalizes the remainder at the next tick.</param>
    /// <returns>The outcome: clean or not, the forced nodes, the elapsed time.</returns>
    public Task<ShutdownResult> ShutdownAsync(CancellationToken cancellationToken = default)
    {
        lock (_shutdownLock)
        {
            if (_shutdownTask is not null)
            {
                return _shutdownTask;
            }

            Volatile.Write(ref _shutdownRequested, 1);
            if (cancellationToken.CanBeCanceled)
            {
                cancellationToken.Register(static s =>
                {
                    var runtime = (SupervisorRuntime)s!;
                    Volatile.Write(ref runtime._forceRequested, 1);
                    runtime.WakeTickThread();
                }, this);
            }

            WakeTickThread();
            _shutdownTask = RunShutdownAsync();
            return _shutdownTask;
        }
    }

    /// <summary>
    /// Starts the runtime and, when <paramref name="stoppingToken"/> fires, drains it gracefully. The token is never
    /// wired into the tick loop itself (a defect of the Go original): ticks continue until the drain ends.
    /// </summary>
    /// <param name="stoppingToken">The host's stopping token.</param>
    /// <returns>The shutdown outcome.</returns>
    public async Task<ShutdownResult> RunAsync(CancellationToken stoppingToken)
    {
        Start();
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (stoppingToken.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), stopped).ConfigureAwait(false))
        {
            await Task.WhenAny(stopped.Task, Completion).ConfigureAwait(false);
        }

        if (Completion.IsFaulted)
        {
            // The tick thread stopped on an invariant violation: surface it to the host (exit code 70).
            await Completion.ConfigureAwait(false);
        }

        return await ShutdownAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<ShutdownResult> RunShutdownAsync()
    {
        ShutdownResult result = await _drain.Task.ConfigureAwait(false);
        if (_tickThread is not null)
        {
            await _tickThreadExited.Task.ConfigureAwait(false);
            _completion.TrySetResult();
        }

        int abandoned = await _executor.StopAsync(Options.ActionShutdownTimeout).ConfigureAwait(false);
        Log.ShutdownCompleted(_loggers.Runtime, result.Elapsed.TotalMilliseconds, result.Clean && abandoned == 0, result.ForcedNodes.Count);
        return result;
    }

    /// <summary>Tick thread, after the root's tick while shutting down: done when drained, forced at the budget.</summary>
    private void CheckDrain(DateTimeOffset now)
    {
        if (_drain.Task.IsCompleted)
        {
            return;
        }

        DateTimeOffset started = _shutdownStartedAt!.Value; // the caller checked.
        if (_root.Lifecycle == NodeLifecycle.Finalized || _root.RootDrained)
        {
            if (_root.Lifecycle != NodeLifecycle.Finalized)
            {
                _root.FinalizeSubtree(now);
            }

            Metrics.SetShutdownDuration(now - started);
            _drain.TrySetResult(new ShutdownResult(true, [], now - started));
            return;
        }

        if (Volatile.Read(ref _forceRequested) != 0 || now - started >= Options.ShutdownBudget)
        {
            var remaining = new List<string>();
            _root.CollectLivePaths(remaining);
            Log.ShutdownBudgetExceeded(_loggers.Runtime, Options.ShutdownBudget.TotalMilliseconds, string.Join(",", remaining));
            _root.FinalizeSubtree(now);
            MarkStatusDirty();
            Metrics.SetShutdownDuration(now - started);
            _drain.TrySetResult(new ShutdownResult(false, remaining, now - started));
        }
    }
}
