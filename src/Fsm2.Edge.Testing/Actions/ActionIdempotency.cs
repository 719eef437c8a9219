using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Testing.Actions;

/// <summary>
/// Checks the idempotency contract of an action (40-actions §14): running it again — after a success, a partial run,
/// a cancellation, or concurrently with itself — leaves the same end state as one clean run. Each helper runs the
/// action as the executor would (a token, the context's <see cref="TimeProvider"/>) against the caller's test double
/// and compares verdicts with <see cref="EqualityComparer{T}.Default"/>.
/// </summary>
public static class ActionIdempotency
{
    /// <summary>
    /// Runs <paramref name="action"/> <paramref name="times"/> times in sequence; <paramref name="verify"/> must give
    /// the same verdict after every run as after the first.
    /// </summary>
    /// <typeparam name="TVerdict">What <paramref name="verify"/> reads off the test double (a state, a count ...).</typeparam>
    /// <param name="action">The action under test.</param>
    /// <param name="context">The context to run it with.</param>
    /// <param name="times">How many runs (3 to 5 recommended; at least 2).</param>
    /// <param name="verify">Reads the end state.</param>
    /// <returns>A task that completes when the check passed.</returns>
    /// <exception cref="ActionIdempotencyException">A run left a different verdict; the message names kind and run.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="times"/> is below 2.</exception>
    public static Task VerifyAsync<TVerdict>(IAction action, ActionContext context, int times, Func<TVerdict> verify)
        => VerifyWithSetupAsync(static () => { }, action, context, times, verify);

    /// <summary>As <see cref="VerifyAsync"/>, starting from a state prepared by <paramref name="setup"/>.</summary>
    /// <typeparam name="TVerdict">What <paramref name="verify"/> reads off the test double.</typeparam>
    /// <param name="setup">Prepares the test double (for example "already running").</param>
    /// <param name="action">The action under test.</param>
    /// <param name="context">The context to run it with.</param>
    /// <param name="times">How many runs (at least 2).</param>
    /// <param name="verify">Reads the end state.</param>
    /// <returns>A task that completes when the check passed.</returns>
    /// <exception cref="ActionIdempotencyException">A run left a different verdict.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="times"/> is below 2.</exception>
    public static async Task VerifyWithSetupAsync<TVerdict>(
        Action setup,
        IAction action,
        ActionContext context,
        int times,
        Func<TVerdict> verify)
    {
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(verify);
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 2);
        setup();
        await RunAsync(action, context, 1, CancellationToken.None).ConfigureAwait(false);
        TVerdict first = verify();
        for (int run = 2; run <= times; run++)
        {
            await RunAsync(action, context, run, CancellationToken.None).ConfigureAwait(false);
            TVerdict verdict = verify();
            if (!EqualityComparer<TVerdict>.Default.Equals(first, verdict))
            {
                throw new ActionIdempotencyException(
                    $"action '{action.Kind}' is not idempotent: after run {run} of {times} the state is '{verdict}', after run 1 it was '{first}'");
            }
        }
    }

    /// <summary>
    /// Cancels a first run through <paramref name="interrupt"/> (for example by advancing a fake clock past
    /// <c>cancelAfter</c>, or after the k-th await of the test double), then runs the action to completion; the end
    /// state must equal <paramref name="expected"/>, the verdict of one clean run.
    /// </summary>
    /// <typeparam name="TVerdict">What <paramref name="verify"/> reads off the test double.</typeparam>
    /// <param name="action">The action under test.</param>
    /// <param name="context">The context to run it with.</param>
    /// <param name="interrupt">Given the first run's token source and its task, cancels it at the chosen point.</param>
    /// <param name="expected">The verdict after one clean run.</param>
    /// <param name="verify">Reads the end state.</param>
    /// <returns>A task that completes when the check passed.</returns>
    /// <exception cref="ActionIdempotencyException">The resumed run left a different state, or the interrupted run
    /// swallowed its cancellation and reported nothing.</exception>
    public static async Task VerifyInterruptedAsync<TVerdict>(
        IAction action,
        ActionContext context,
        Func<CancellationTokenSource, Task, Task> interrupt,
        TVerdict expected,
        Func<TVerdict> verify)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(interrupt);
        ArgumentNullException.ThrowIfNull(verify);
        using var source = new CancellationTokenSource();
        Task first = RunAsync(action, context, 1, source.Token);
        await interrupt(source, first).ConfigureAwait(false);
        try
        {
            await first.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The contract: a cancelled action lets OperationCanceledException propagate.
        }

        await RunAsync(action, context, 2, CancellationToken.None).ConfigureAwait(false);
        TVerdict verdict = verify();
        if (!EqualityComparer<TVerdict>.Default.Equals(expected, verdict))
        {
            throw new ActionIdempotencyException(
                $"action '{action.Kind}' is not idempotent under interruption: after the resumed run (run 2) the state is '{verdict}', one clean run gives '{expected}'");
        }
    }

    /// <summary>
    /// Starts two executions concurrently (as after an abandonment, §14.1 item 2); <paramref name="isValid"/> must
    /// accept the end state.
    /// </summary>
    /// <typeparam name="TVerdict">What <paramref name="verify"/> reads off the test double.</typeparam>
    /// <param name="action">The action under test.</param>
    /// <param name="context">The context to run it with.</param>
    /// <param name="verify">Reads the end state.</param>
    /// <param name="isValid">Whether that end state is valid.</param>
    /// <returns>A task that completes when the check passed.</returns>
    /// <exception cref="ActionIdempotencyException">The overlapping runs left an invalid state.</exception>
    public static async Task VerifyOverlapAsync<TVerdict>(IAction action, ActionContext context, Func<TVerdict> verify, Func<TVerdict, bool> isValid)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(verify);
        ArgumentNullException.ThrowIfNull(isValid);
        Task a = Task.Run(() => RunAsync(action, context, 1, CancellationToken.None));
        Task b = Task.Run(() => RunAsync(action, context, 2, CancellationToken.None));
        await Task.WhenAll(a, b).ConfigureAwait(false);
        TVerdict verdict = verify();
        if (!isValid(verdict))
        {
            throw new ActionIdempotencyException($"action '{action.Kind}' does not tolerate overlapping runs: the end state is '{verdict}'");
        }
    }

    private static async Task RunAsync(IAction action, ActionContext context, int run, CancellationToken cancellationToken)
    {
        try
        {
            await action.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw new ActionIdempotencyException($"action '{action.Kind}' threw on run {run}: {ex.GetType().Name}: {ex.Message}", ex);
        }
    }
}
