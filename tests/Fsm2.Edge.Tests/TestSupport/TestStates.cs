using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>A state whose Next is a delegate, so each test scripts exactly the behaviour it needs.</summary>
public sealed class LambdaState(string name, LambdaState.NextFunc next) : IState<TestObserved, string>
{
    public delegate Transition<TestObserved, string> NextFunc(LambdaState self, in Snapshot<TestObserved, string> snapshot);

    private int _calls;

    public string Name { get; } = name;

    /// <summary>How often Next ran.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>The latest snapshot's observation sequence.</summary>
    public long LastSequence { get; private set; }

    /// <summary>Managed thread ids that ran Next.</summary>
    public HashSet<int> Threads { get; } = [];

    public Transition<TestObserved, string> Next(in Snapshot<TestObserved, string> snapshot)
    {
        Interlocked.Increment(ref _calls);
        LastSequence = snapshot.Observation.Sequence;
        lock (Threads)
        {
            Threads.Add(Environment.CurrentManagedThreadId);
        }

        return next(this, in snapshot);
    }
}

/// <summary>Reusable test states.</summary>
public static class TestStates
{
    /// <summary>Stays forever; on shutdown signals NeedsRemoval at once.</summary>
    public static readonly LambdaState Idle = new("idle", static (self, in s) =>
        s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self));

    /// <summary>A fresh state that stays forever and signals NeedsRemoval on shutdown (counts its own calls).</summary>
    public static LambdaState NewIdle(string name = "idle") => new(name, static (self, in s) =>
        s.ShutdownRequested ? Transition.Emit(self, Signal.NeedsRemoval) : Transition.To(self));

    /// <summary>A fresh state that never finishes shutting down.</summary>
    public static LambdaState NewStubborn(string name = "stubborn") => new(name, static (self, in s) => Transition.To(self));
}
