using System.Collections.Concurrent;
using System.Threading.Channels;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Execution;

/// <summary>
/// The baseline executor: a bounded <see cref="Channel{T}"/> (single writer, <see cref="BoundedChannelFullMode.Wait"/>
/// written with <c>TryWrite</c> only, so a full queue is reported, never silently dropped) drained by a fixed pool of
/// dedicated action threads. Completions return to the tick thread through a lock-free queue.
/// </summary>
/// <remarks>
/// It stays in the repository as the reference the lock-free ring executor is measured against. Bounded channels
/// take a lock on every operation; that is the cost the ring removes from the tick thread.
/// An action that ignores its cancellation keeps its thread busy; abandonment of such actions belongs to the ring
/// executor.
/// </remarks>
internal sealed class ChannelActionExecutor : IActionExecutor
{
    private readonly Channel<Request> _channel;
    private readonly ConcurrentQueue<ActionCompletion> _completions = new();
    private readonly Thread[] _threads;
    private readonly TimeProvider _time;
    private readonly TimeSpan _defaultTimeout;
    private readonly ILogger _logger;
    private readonly EdgeMetrics _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _allExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private int _outstanding;
    private int _alive;
    private int _started;

    public ChannelActionExecutor(int capacity, int threads, TimeSpan defaultTimeout, TimeProvider time, ILogger logger, EdgeMetrics metrics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Capacity = capacity;
        _time = time;
        _defaultTimeout = defaultTimeout;
        _logger = logger;
        _metrics = metrics;
        _channel = Channel.CreateBounded<Request>(new BoundedChannelOptions(capacity)
        {
            SingleWriter = true,
            SingleReader = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _threads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(RunActionThread) { IsBackground = true, Name = $"fsm2-action-{i}" };
        }
    }

    public int Capacity { get; }

    public int Outstanding => Volatile.Read(ref _outstanding);

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        _alive = _threads.Length;
        foreach (Thread thread in _threads)
        {
            thread.Start();
        }
    }

    public bool TryEnqueue(ActionSlot slot, IAction action, in ActionContext context)
    {
        TimeSpan? overrideTimeout = action.Timeout;
        if (overrideTimeout is { } t && t <= TimeSpan.Zero)
        {
            throw new InvariantViolationException(
                $"worker '{slot.WorkerId}': action '{action.Kind}' has a zero or negative timeout override ({t})");
        }

        long generation = slot.Generation + 1;
        if (!_channel.Writer.TryWrite(new Request(slot, generation, action, context, _time.GetTimestamp())))
        {
            return false;
        }

        Interlocked.Increment(ref _outstanding);
        slot.Generation = generation;
        slot.InFlight = true;
        slot.InFlightKind = action.Kind;
        _metrics.ActionsQueued.Add(1);
        return true;
    }

    public bool TryDequeueCompletion(out ActionCompletion completion) => _completions.TryDequeue(out completion);

    public async Task<int> StopAsync(TimeSpan wait)
    {
        _channel.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (Volatile.Read(ref _started) == 0)
        {
            DrainUnstarted();
            return 0;
        }

        try
        {
            await _allExited.Task.WaitAsync(wait, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            int abandoned = Volatile.Read(ref _running);
            Log.ActionShutdownAbandoned(_logger, abandoned);
            return abandoned;
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void DrainUnstarted()
    {
        while (_channel.Reader.TryRead(out Request request))
        {
            Complete(request, ActionOutcome.Cancelled, null, TimeSpan.Zero);
        }
    }

    private void RunActionThread()
    {
        ChannelReader<Request> reader = _channel.Reader;
        CancellationToken stopping = _stopping.Token;
        try
        {
            while (true)
            {
                if (reader.TryRead(out Request request))
                {
                    if (stopping.IsCancellationRequested)
                    {
                        Complete(request, ActionOutcome.Cancelled, null, TimeSpan.Zero);
                        continue;
                    }

                    Execute(in request, stopping);
                    continue;
                }

                bool more;
                try
                {
                    ValueTask<bool> waiting = reader.WaitToReadAsync(stopping);
                    more = waiting.IsCompleted ? waiting.Result : waiting.AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    more = false;
                }

                if (!more)
                {
                    DrainUnstarted();
                    return;
                }
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _alive) == 0)
            {
                _allExited.TrySetResult();
            }
        }
    }

    private void Execute(in Request request, CancellationToken stopping)
    {
        ActionSlot slot = request.Slot;
        if (slot.IsCancelRequested(request.Generation))
        {
            Complete(request, ActionOutcome.Cancelled, null, TimeSpan.Zero);
            return;
        }

        TimeSpan timeout = request.Action.Timeout ?? _defaultTimeout;
        using var source = new CancellationTokenSource(timeout, _time);
        using CancellationTokenRegistration onStop = stopping.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), source);
        slot.SetRunning(source, request.Generation);
        Interlocked.Increment(ref _running);
        long started = _time.GetTimestamp();
        ActionOutcome outcome;
        Exception? error = null;
        try
        {
            ValueTask run = request.Action.ExecuteAsync(request.Context, source.Token);
            if (run.IsCompletedSuccessfully)
            {
                run.GetAwaiter().GetResult();
            }
            else
            {
                run.AsTask().GetAwaiter().GetResult();
            }

            outcome = ActionOutcome.Success;
        }
        catch (OperationCanceledException ex) when (source.IsCancellationRequested)
        {
            bool cancelled = slot.IsCancelRequested(request.Generation) || stopping.IsCancellationRequested;
            outcome = cancelled ? ActionOutcome.Cancelled : ActionOutcome.Timeout;
            error = ex;
        }
        catch (Exception ex)
        {
            // 40-actions §2: a Bug-class exception (30-supervision §9.2) is a Panic, every other one an Error.
            outcome = Health.ExceptionClassifier.Classify(ex) == Health.PanicClass.Bug ? ActionOutcome.Panic : ActionOutcome.Error;
            error = ex;
        }
        finally
        {
            slot.ClearRunning(source);
            Interlocked.Decrement(ref _running);
        }

        Complete(request, outcome, error, _time.GetElapsedTime(started));
    }

    private void Complete(in Request request, ActionOutcome outcome, Exception? error, TimeSpan duration)
    {
        if (outcome == ActionOutcome.Timeout)
        {
            _metrics.ActionTimeouts.Add(1);
        }
        else if (outcome == ActionOutcome.Cancelled)
        {
            _metrics.ActionCancelled.Add(1);
        }

        if (outcome is ActionOutcome.Error or ActionOutcome.Panic or ActionOutcome.Timeout)
        {
            Log.ActionFailed(_logger, request.Slot.WorkerId, request.Action.Kind, outcome.ToString(), error?.Message ?? "");
        }

        _metrics.ActionDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome.ToTag()));
        _completions.Enqueue(new ActionCompletion(request.Slot, request.Generation, request.Action.Kind, outcome, error, duration, _time.GetUtcNow().UtcTicks));
        Interlocked.Decrement(ref _outstanding);
    }


    private readonly record struct Request(ActionSlot Slot, long Generation, IAction Action, ActionContext Context, long EnqueuedAt);
}
