using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>The observation of <see cref="TestWorker"/>.</summary>
public sealed record TestObserved(int Value, string Tag = "");

/// <summary>
/// A scriptable worker for tests. Every hook has a sensible default: derive returns the config text as the state
/// ("running" when empty) plus <see cref="Children"/>; collection returns <see cref="NextObservation"/>.
/// </summary>
public sealed class TestWorker : IWorker<TestObserved, string>
{
    private int _deriveCalls;
    private int _collectCalls;

    public TestWorker(Identity identity) => Identity = identity;

    public Identity Identity { get; }

    /// <summary>Children declared by the default derive.</summary>
    public IReadOnlyList<ChildSpec>? Children { get; set; }

    /// <summary>Replaces the default derive.</summary>
    public Func<UserSpec, DerivedState<string>>? OnDerive { get; set; }

    /// <summary>Replaces the default collection.</summary>
    public Func<DesiredState<string>, CancellationToken, ValueTask<TestObserved>>? OnCollect { get; set; }

    /// <summary>What the default collection returns.</summary>
    public TestObserved NextObservation { get; set; } = new(0);

    /// <summary>The initial state.</summary>
    public IState<TestObserved, string> InitialState { get; set; } = TestStates.Idle;

    public int DeriveCalls => Volatile.Read(ref _deriveCalls);

    public int CollectCalls => Volatile.Read(ref _collectCalls);

    /// <summary>The spec handed to the latest derive.</summary>
    public UserSpec? LastDerivedSpec { get; private set; }

    /// <summary>Managed thread ids that ran derive.</summary>
    public HashSet<int> DeriveThreads { get; } = [];

    public ValueTask<TestObserved> CollectObservedStateAsync(DesiredState<string> desired, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _collectCalls);
        return OnCollect is { } collect ? collect(desired, cancellationToken) : ValueTask.FromResult(NextObservation);
    }

    public DerivedState<string> DeriveDesiredState(UserSpec spec)
    {
        Interlocked.Increment(ref _deriveCalls);
        lock (DeriveThreads)
        {
            DeriveThreads.Add(Environment.CurrentManagedThreadId);
        }

        LastDerivedSpec = spec;
        if (OnDerive is { } derive)
        {
            return derive(spec);
        }

        return new DerivedState<string>(spec.Config.Length == 0 ? "running" : spec.Config, spec.Config, Children);
    }

    public IState<TestObserved, string> GetInitialState() => InitialState;
}
