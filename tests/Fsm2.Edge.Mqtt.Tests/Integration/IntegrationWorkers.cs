using System.Collections.Concurrent;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Mqtt.Tests.Integration;

/// <summary>The observation of <see cref="ItWorker"/>: how often its collector has run.</summary>
public sealed record ItObserved(long Collections);

/// <summary>
/// A worker for the broker-outage tests: its collector counts its runs (so a test sees collectors keep running while a
/// breaker is open), its derive declares fixed children, and its behaviour is the state it is given.
/// </summary>
public sealed class ItWorker(Identity identity, IState<ItObserved, string> initial, IReadOnlyList<ChildSpec>? children = null) : IWorker<ItObserved, string>
{
    private long _collections;

    /// <summary>The worker's identity.</summary>
    public Identity Identity { get; } = identity;

    /// <summary>The worker's only state.</summary>
    public IState<ItObserved, string> State { get; } = initial;

    /// <summary>Collector runs so far.</summary>
    public long Collections => Interlocked.Read(ref _collections);

    /// <inheritdoc/>
    public ValueTask<ItObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new ItObserved(Interlocked.Increment(ref _collections)));

    /// <inheritdoc/>
    public DerivedState<string> DeriveDesiredState(UserSpec spec) => new("running", spec.Config, children);

    /// <inheritdoc/>
    public IState<ItObserved, string> GetInitialState() => State;
}

/// <summary>A state that stays and signals <see cref="Signal.NeedsRemoval"/> on shutdown (the parent line).</summary>
public sealed class StayState(string name) : IState<ItObserved, string>
{
    /// <inheritdoc/>
    public string Name { get; } = name;

    /// <inheritdoc/>
    public Transition<ItObserved, string> Next(in Snapshot<ItObserved, string> snapshot) =>
        snapshot.ShutdownRequested ? Transition.Emit(this, Signal.NeedsRemoval) : Transition.To(this);
}

/// <summary>
/// The book of every work item: ids are issued when a state emits an item's action, and each execution is recorded.
/// With nothing refused, the issued ids are exactly the executed ones, each executed once.
/// </summary>
public sealed class WorkLedger
{
    private readonly ConcurrentDictionary<long, int> _runs = new();
    private long _issued;
    private volatile bool _paused;

    /// <summary>When set, cells emit no new work (used to let in-flight work finish before counting).</summary>
    public bool Paused
    {
        get => _paused;
        set => _paused = value;
    }

    /// <summary>Ids issued so far (ids are 1..Issued).</summary>
    public long Issued => Interlocked.Read(ref _issued);

    /// <summary>Executions so far, duplicates included.</summary>
    public long Executions => _runs.Values.Sum(n => (long)n);

    /// <summary>Execution count by id.</summary>
    public IReadOnlyDictionary<long, int> Runs => _runs;

    /// <summary>Issues the next id.</summary>
    public long Issue() => Interlocked.Increment(ref _issued);

    /// <summary>Records one execution of <paramref name="id"/>.</summary>
    public void Record(long id) => _runs.AddOrUpdate(id, 1, static (_, n) => n + 1);
}

/// <summary>One idempotent unit of work: it records its execution in the ledger and completes at once.</summary>
public sealed class WorkAction(WorkLedger ledger, long id) : IAction
{
    /// <inheritdoc/>
    public string Kind => "work";

    /// <summary>The work item id.</summary>
    public long Id { get; } = id;

    /// <inheritdoc/>
    public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ledger.Record(Id);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A cell: whenever nothing is in flight (and the ledger is not paused), it emits the next work item.</summary>
public sealed class CellState(WorkLedger ledger) : IState<ItObserved, string>
{
    private long _calls;
    private long _emitted;

    /// <inheritdoc/>
    public string Name => "working";

    /// <summary>How often <c>Next</c> ran (full and shutdown mode only; health-only mode never calls it).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Work items this cell emitted.</summary>
    public long Emitted => Interlocked.Read(ref _emitted);

    /// <inheritdoc/>
    public Transition<ItObserved, string> Next(in Snapshot<ItObserved, string> snapshot)
    {
        Interlocked.Increment(ref _calls);
        if (snapshot.ShutdownRequested)
        {
            return Transition.Emit(this, Signal.NeedsRemoval);
        }

        if (ledger.Paused || snapshot.Action.InFlight)
        {
            return Transition.To(this);
        }

        Interlocked.Increment(ref _emitted);
        return Transition.Act(this, new WorkAction(ledger, ledger.Issue()));
    }
}

/// <summary>
/// An action that runs until the test releases it. It honours its token; whether the token was cancelled is recorded,
/// so a test can show that an open breaker cancels nothing.
/// </summary>
public sealed class HoldAction : IAction
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _cancelled;

    /// <inheritdoc/>
    public string Kind => "hold";

    /// <inheritdoc/>
    public TimeSpan? Timeout => TimeSpan.FromMinutes(2);

    /// <summary>Completes when an execution starts.</summary>
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the execution ends, however it ends.</summary>
    public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the execution's token was cancelled while it ran.</summary>
    public bool WasCancelled => _cancelled;

    /// <summary>Lets the execution finish.</summary>
    public void Release() => _gate.TrySetResult();

    /// <inheritdoc/>
    public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        Started.TrySetResult();
        try
        {
            await _gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _cancelled = cancellationToken.IsCancellationRequested;
            Ended.TrySetResult();
        }
    }
}

/// <summary>The holder: emits one <see cref="HoldAction"/> and then records the action status each <c>Next</c> sees.</summary>
public sealed class HolderState(HoldAction hold) : IState<ItObserved, string>
{
    private bool _emitted;
    private volatile string? _lastKind;
    private volatile int _lastOutcome = -1;

    /// <inheritdoc/>
    public string Name => "holding";

    /// <summary>The last completion's kind as <c>Next</c> last saw it.</summary>
    public string? SeenKind => _lastKind;

    /// <summary>The last completion's outcome as <c>Next</c> last saw it, or -1 before any.</summary>
    public int SeenOutcome => _lastOutcome;

    /// <inheritdoc/>
    public Transition<ItObserved, string> Next(in Snapshot<ItObserved, string> snapshot)
    {
        if (snapshot.ShutdownRequested)
        {
            return Transition.Emit(this, Signal.NeedsRemoval);
        }

        if (snapshot.Action.LastKind is { } kind)
        {
            _lastKind = kind;
            _lastOutcome = (int)snapshot.Action.LastOutcome;
        }

        if (_emitted)
        {
            return Transition.To(this);
        }

        _emitted = true;
        return Transition.Act(this, hold);
    }
}
