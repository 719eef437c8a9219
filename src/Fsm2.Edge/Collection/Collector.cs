using System.Diagnostics;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Collection;

/// <summary>
/// The observation collector of one worker instance. It calls the worker's <c>CollectObservedStateAsync</c> with a
/// token cancelled after the observation timeout, stamps the result with the time the collection started, and swaps
/// it into the worker's slot unless its generation moved on meanwhile.
/// </summary>
[DebuggerDisplay("{WorkerId} gen {Generation} {State}")]
public sealed class Collector
{
    /// <summary>A collection must return this soon after its token is cancelled, or it is abandoned.</summary>
    public static readonly TimeSpan CollectionCancelGrace = TimeSpan.FromSeconds(5);

    private readonly WorkerHandle _target;
    private readonly CollectorEnvironment _environment;
    private long _generation;
    private int _state;
    private long _successes;
    private long _failures;
    private long _lastFailureLogTimestamp = long.MinValue;

    internal Collector(WorkerHandle target, TimeSpan interval, CollectorEnvironment environment)
    {
        _target = target;
        _environment = environment;
        Interval = interval;
    }

    /// <summary>The worker id this collector serves.</summary>
    public string WorkerId => _target.Identity.Id;

    /// <summary>Time between the starts of two collections.</summary>
    public TimeSpan Interval { get; }

    /// <summary>The current loop generation; results of older generations are discarded.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>The lifecycle state.</summary>
    public CollectorState State => (CollectorState)Volatile.Read(ref _state);

    /// <summary>Successful collections so far.</summary>
    public long Successes => Interlocked.Read(ref _successes);

    /// <summary>Failed collections (exception, <see langword="null"/>, timeout) so far.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Scheduler-owned state; only the scheduler that started the collector touches it.</summary>
    public object? SchedulerState { get; set; }

    /// <summary>
    /// Runs one collection and publishes its result. Never throws for worker failures: they are logged (rate-limited)
    /// and counted, and the slot keeps its value.
    /// </summary>
    /// <param name="loopToken">Cancelled when the loop that runs this collection is stopped or restarted.</param>
    /// <returns>A task that completes when the collection ended or was abandoned.</returns>
    public async ValueTask CollectOnceAsync(CancellationToken loopToken)
    {
        if (loopToken.IsCancellationRequested || State != CollectorState.Running)
        {
            return;
        }

        long generation = Generation;
        TimeProvider time = _environment.Time;
        DateTimeOffset startedAt = time.GetUtcNow();
        long startTimestamp = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(_environment.ObservationTimeout, time);
        using CancellationTokenRegistration link = loopToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout);
        string result;
        Exception? error = null;
        try
        {
            Task<CollectOutcome> call = _target.CollectAsync(this, generation, startedAt, timeout.Token).AsTask();
            CollectOutcome outcome = await call.WaitAsync(_environment.ObservationTimeout + CollectionCancelGrace, time, loopToken)
                .ConfigureAwait(false);
            result = outcome switch
            {
                CollectOutcome.Published => "ok",
                CollectOutcome.Null => "error",
                _ => "discarded",
            };
            if (outcome == CollectOutcome.Null)
            {
                error = new InvalidOperationException("collector returned null");
            }
        }
        catch (OperationCanceledException) when (loopToken.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            result = "timeout";
        }
        catch (TimeoutException)
        {
            // The call ignored its cancellation for CollectionCancelGrace: abandoned, never awaited further.
            result = "timeout";
            _environment.Metrics.CollectionsAbandoned.Add(1);
        }
        catch (Exception ex)
        {
            result = "error";
            error = ex;
        }

        _environment.Metrics.CollectionDuration.Record(time.GetElapsedTime(startTimestamp).TotalSeconds);
        _environment.Metrics.RecordObservation(result);
        if (result == "ok")
        {
            Interlocked.Increment(ref _successes);
            return;
        }

        if (result == "discarded")
        {
            return;
        }

        Interlocked.Increment(ref _failures);
        long now = time.GetTimestamp();
        long last = Interlocked.Read(ref _lastFailureLogTimestamp);
        if (last == long.MinValue || time.GetElapsedTime(last, now) >= _environment.FailureLogInterval)
        {
            Interlocked.Exchange(ref _lastFailureLogTimestamp, now);
            Log.CollectionFailed(_environment.Logger, WorkerId, result, error?.Message ?? "collection timed out", error);
        }
    }

    /// <summary>Moves <c>Created → Running</c>. Starting a running collector is an internal invariant violation.</summary>
    internal void MarkRunning()
    {
        int previous = Interlocked.CompareExchange(ref _state, (int)CollectorState.Running, (int)CollectorState.Created);
        Debug.Assert(previous == (int)CollectorState.Created, "a collector is started once");
        if (previous != (int)CollectorState.Created)
        {
            throw new InvalidOperationException($"collector of '{WorkerId}' is already {(CollectorState)previous}");
        }
    }

    /// <summary>Moves to <c>Stopped</c>; returns <see langword="false"/> when it was not running.</summary>
    internal bool MarkStopped()
    {
        int previous = Interlocked.Exchange(ref _state, (int)CollectorState.Stopped);
        return previous == (int)CollectorState.Running;
    }

    internal long BumpGeneration() => Interlocked.Increment(ref _generation);
}

/// <summary>What every collector of one runtime shares: clock, timeouts, logger, metrics.</summary>
internal sealed record CollectorEnvironment(
    TimeProvider Time,
    TimeSpan ObservationTimeout,
    TimeSpan FailureLogInterval,
    ILogger Logger,
    EdgeMetrics Metrics);
