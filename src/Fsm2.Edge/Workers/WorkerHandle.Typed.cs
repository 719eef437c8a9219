using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Fsm2.Edge.Collection;

namespace Fsm2.Edge.Workers;

/// <summary>The typed worker handle: desired record, observation slot and current state of one worker instance.</summary>
internal sealed class WorkerHandle<TObserved, TDesired> : WorkerHandle
    where TObserved : class
{
    private readonly IWorker<TObserved, TDesired> _worker;
    private readonly IWorkerStatusWriter<TObserved>? _statusWriter;

    // Owner: tick thread.
    private IState<TObserved, TDesired>? _current;
    private DerivedState<TDesired>? _accepted;
    private long _desiredVersion;

    // Shared: written by the tick thread with a volatile write, read by the collector.
    private DesiredState<TDesired>? _desired;

    // Shared: swapped in by the collector (compare-and-swap), read once per tick by the node.
    private Observation<TObserved>? _slot;

    public WorkerHandle(Identity identity, IWorker<TObserved, TDesired> worker, WorkerTypeOptions options)
        : base(identity, options)
    {
        _worker = worker;
        _statusWriter = worker as IWorkerStatusWriter<TObserved>;
    }

    public override object Worker => _worker;

    public override string CurrentStateName => _current?.Name ?? "";

    public override bool HasDesired => _desired is not null;

    public override void Initialize()
    {
        _current = _worker.GetInitialState()
            ?? throw new InvalidOperationException($"GetInitialState of worker '{Identity.Id}' returned null");
    }

    public override void ResetToInitialState() => Initialize();

    public override DeriveResult Derive(UserSpec injected)
    {
        DerivedState<TDesired> derived = _worker.DeriveDesiredState(injected)
            ?? throw new InvalidOperationException("derive returned null");
        return new DeriveResult(derived.State, derived.Children, derived);
    }

    public override void Accept(in DeriveResult result) => _accepted = (DerivedState<TDesired>)result.Derived;

    public override bool PublishDesired(string state, bool shutdownRequested)
    {
        DerivedState<TDesired>? accepted = _accepted;
        if (accepted is null)
        {
            return false;
        }

        DesiredState<TDesired>? current = _desired;
        if (current is not null
            && string.Equals(current.State, state, StringComparison.Ordinal)
            && current.ShutdownRequested == shutdownRequested
            && EqualityComparer<TDesired>.Default.Equals(current.Config, accepted.Config))
        {
            return false;
        }

        Volatile.Write(ref _desired, new DesiredState<TDesired>(state, accepted.Config, shutdownRequested, ++_desiredVersion));
        return true;
    }

    public override bool TryGetObservation(out DateTimeOffset collectedAt, out long sequence)
    {
        Observation<TObserved>? observation = Volatile.Read(ref _slot);
        if (observation is null)
        {
            collectedAt = default;
            sequence = 0;
            return false;
        }

        collectedAt = observation.CollectedAt;
        sequence = observation.Sequence;
        return true;
    }

    public override EvaluateResult Evaluate(DateTimeOffset now, ChildrenView children, in Execution.ActionStatus action)
    {
        IState<TObserved, TDesired> current = _current!; // Initialize ran at creation; the node never evaluates before it.
        Observation<TObserved> observation = Volatile.Read(ref _slot)!; // the freshness gate passed only with an observation.
        var snapshot = new Snapshot<TObserved, TDesired>(Identity, observation, _desired!, children, now, in action);
        Transition<TObserved, TDesired> t = current.Next(in snapshot);

        IState<TObserved, TDesired>? next = t.NextState;
        if (next is null)
        {
            ThrowInvariant(current, "returned a null next state");
        }

        if ((uint)t.Signal > (uint)Signal.NeedsRestart)
        {
            ThrowInvariant(current, "returned an undefined signal value");
        }

        bool transitioned = !ReferenceEquals(next, current);
        if (t.Action is not null)
        {
            if (transitioned)
            {
                ThrowInvariant(current, $"returned a different state ({next.Name}) together with an action ({t.Action.Kind})");
            }

            if (t.Signal != Signal.None)
            {
                ThrowInvariant(current, $"returned signal {t.Signal} together with an action ({t.Action.Kind})");
            }
        }

        _current = next;
        Reason = t.Reason ?? "";
        return new EvaluateResult(transitioned, current.Name, next.Name, t.Signal, t.Action, snapshot.Desired, observation.CollectedAt);
    }

    public override async ValueTask<CollectOutcome> CollectAsync(
        Collector collector,
        long generation,
        DateTimeOffset startedAt,
        CancellationToken cancellationToken)
    {
        DesiredState<TDesired> desired = Volatile.Read(ref _desired)!; // the collector starts after the first publish.
        TObserved? value = await _worker.CollectObservedStateAsync(desired, cancellationToken).ConfigureAwait(false);
        if (value is null)
        {
            return CollectOutcome.Null;
        }

        while (true)
        {
            // Results from an older collector generation never overwrite the slot.
            if (collector.Generation != generation || cancellationToken.IsCancellationRequested)
            {
                return CollectOutcome.Discarded;
            }

            Observation<TObserved>? previous = Volatile.Read(ref _slot);
            var observation = new Observation<TObserved>(value, startedAt, (previous?.Sequence ?? 0) + 1);
            if (ReferenceEquals(Interlocked.CompareExchange(ref _slot, observation, previous), previous))
            {
                return CollectOutcome.Published;
            }
        }
    }

    public override (object? Desired, object? Observation) GetRecords() => (Volatile.Read(ref _desired), Volatile.Read(ref _slot));

    public override void WriteRecords(Utf8JsonWriter writer)
    {
        DesiredState<TDesired>? desired = Volatile.Read(ref _desired);
        if (desired is null)
        {
            writer.WriteNull("desired");
        }
        else
        {
            writer.WriteStartObject("desired");
            writer.WriteString("state", desired.State);
            writer.WriteString("config", desired.Config?.ToString());
            writer.WriteBoolean("shutdownRequested", desired.ShutdownRequested);
            writer.WriteNumber("version", desired.Version);
            writer.WriteEndObject();
        }

        Observation<TObserved>? observation = Volatile.Read(ref _slot);
        if (observation is null)
        {
            writer.WriteNull("observed");
        }
        else
        {
            writer.WriteStartObject("observed");
            writer.WriteString("value", observation.Value.ToString());
            writer.WriteString("collectedAt", observation.CollectedAt);
            writer.WriteNumber("sequence", observation.Sequence);
            writer.WriteEndObject();
        }
    }

    public override bool WriteObservedStatus(Utf8JsonWriter writer, ChildrenView children)
    {
        Observation<TObserved>? observation = Volatile.Read(ref _slot);
        if (_statusWriter is null || observation is null)
        {
            return false;
        }

        writer.WriteStartObject();
        _statusWriter.WriteStatus(writer, observation.Value, children);
        writer.WriteEndObject();
        return true;
    }

    /// <summary>Test and benchmark hook: publishes an observation as a collector would.</summary>
    internal void PublishObservation(TObserved value, DateTimeOffset collectedAt)
    {
        Observation<TObserved>? previous = Volatile.Read(ref _slot);
        Volatile.Write(ref _slot, new Observation<TObserved>(value, collectedAt, (previous?.Sequence ?? 0) + 1));
    }

    /// <summary>
    /// Benchmark hook: stores a pre-built envelope in the slot, allocating nothing, so a benchmark can hand every
    /// worker a new observation before each tick (W2) without its own allocations showing in the measurement.
    /// The caller owns the sequence numbers.
    /// </summary>
    internal void PublishObservation(Observation<TObserved> observation) => Volatile.Write(ref _slot, observation);

    [DoesNotReturn]
    private void ThrowInvariant(IState<TObserved, TDesired> state, string what)
        => throw new InvariantViolationException($"worker '{Identity.Id}' ({Identity.WorkerType}): state '{state.Name}' {what}");
}
