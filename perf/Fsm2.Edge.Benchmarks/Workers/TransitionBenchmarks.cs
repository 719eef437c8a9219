using BenchmarkDotNet.Attributes;
using Fsm2.Edge.Workers;
using Stateless;

namespace Fsm2.Edge.Benchmarks.Workers;

/// <summary>
/// One full cycle through a worker's four lifecycle states, Fsm2.Edge's <see cref="IState{TObserved, TDesired}"/>
/// against a Stateless <see cref="StateMachine{TState, TTrigger}"/> with the same four states
/// (shared/spec/70-performance.md §6 and §7, gate G3).
/// </summary>
/// <remarks>
/// <para>
/// The cycle is <c>stopped → trying_to_start → active → trying_to_stop → stopped</c>, the shape of the pack workers.
/// Fsm2.Edge side (<see cref="FourStateCycle"/>, baseline): four <c>Next</c> calls, each on a snapshot prepared in
/// <see cref="SetUp"/> whose desired state and observation make the current state move on (desired <c>active</c> and
/// not running, desired <c>active</c> and running, desired <c>stopped</c> and running, desired <c>stopped</c> and not
/// running). Each state decides from the snapshot as a worker does (shutdown flag, desired state, observation), and
/// the next state is the one its transition names. Stateless side (<see cref="StatelessCycle"/>): the same states
/// configured once with one <c>Permit</c> each, and one <c>Fire</c> per trigger, four per cycle, default firing mode.
/// </para>
/// <para>
/// Because Fsm2.Edge is the baseline, the Stateless row's <c>Ratio</c> reads Stateless / Fsm2.Edge; G3 asks for
/// Fsm2.Edge / Stateless ≤ 0.5, i.e. a Stateless Ratio of at least 2.0, and 0 B for <see cref="FourStateCycle"/>.
/// </para>
/// </remarks>
[MemoryDiagnoser]
public class TransitionBenchmarks
{
    private readonly Snapshot<CycleObserved, string>[] _snapshots = new Snapshot<CycleObserved, string>[4];
    private StateMachine<Phase, Trigger> _machine = null!;

    /// <summary>The Stateless states, the same four as the Fsm2.Edge side.</summary>
    public enum Phase
    {
        /// <summary>Not running.</summary>
        Stopped,

        /// <summary>Start requested.</summary>
        TryingToStart,

        /// <summary>Running.</summary>
        Active,

        /// <summary>Stop requested.</summary>
        TryingToStop,
    }

    /// <summary>The Stateless triggers, one per transition of the cycle.</summary>
    public enum Trigger
    {
        /// <summary>Desired active.</summary>
        Start,

        /// <summary>Observed running.</summary>
        Started,

        /// <summary>Desired stopped.</summary>
        Stop,

        /// <summary>Observed not running.</summary>
        Stopped,
    }

    [GlobalSetup]
    public void SetUp()
    {
        var identity = new Identity("bench/cycle", "cycle", "bench-cycle", "bench");
        DateTimeOffset now = DateTimeOffset.UnixEpoch;
        var notRunning = new Observation<CycleObserved>(new CycleObserved(Running: false), now, 1);
        var running = new Observation<CycleObserved>(new CycleObserved(Running: true), now, 2);
        var active = new DesiredState<string>(CycleStates.ActiveName, "", shutdownRequested: false, version: 1);
        var stopped = new DesiredState<string>(CycleStates.StoppedName, "", shutdownRequested: false, version: 2);
        _snapshots[0] = new Snapshot<CycleObserved, string>(identity, notRunning, active, null, now);
        _snapshots[1] = new Snapshot<CycleObserved, string>(identity, running, active, null, now);
        _snapshots[2] = new Snapshot<CycleObserved, string>(identity, running, stopped, null, now);
        _snapshots[3] = new Snapshot<CycleObserved, string>(identity, notRunning, stopped, null, now);

        _machine = new StateMachine<Phase, Trigger>(Phase.Stopped);
        _machine.Configure(Phase.Stopped).Permit(Trigger.Start, Phase.TryingToStart);
        _machine.Configure(Phase.TryingToStart).Permit(Trigger.Started, Phase.Active);
        _machine.Configure(Phase.Active).Permit(Trigger.Stop, Phase.TryingToStop);
        _machine.Configure(Phase.TryingToStop).Permit(Trigger.Stopped, Phase.Stopped);

        if (FourStateCycle() != 4 || StatelessCycle() != 4)
        {
            throw new InvalidOperationException("a cycle did not pass through four different states back to stopped");
        }
    }

    /// <summary>G3, Fsm2.Edge: four <c>Next</c> calls on the prepared snapshots, one full cycle.</summary>
    /// <returns>4 when every call moved to a different state and the cycle ended in <c>stopped</c>.</returns>
    [Benchmark(Baseline = true)]
    public int FourStateCycle()
    {
        IState<CycleObserved, string> state = CycleStates.Stopped;
        int moves = 0;
        Snapshot<CycleObserved, string>[] snapshots = _snapshots;
        for (int i = 0; i < snapshots.Length; i++)
        {
            IState<CycleObserved, string> next = state.Next(in snapshots[i]).NextState;
            moves += ReferenceEquals(next, state) ? 0 : 1;
            state = next;
        }

        return ReferenceEquals(state, CycleStates.Stopped) ? moves : -1;
    }

    /// <summary>G3, Stateless: one <c>Fire</c> per trigger, one full four-trigger cycle.</summary>
    /// <returns>4 when every trigger moved to a different state and the cycle ended in <c>Stopped</c>.</returns>
    [Benchmark]
    public int StatelessCycle()
    {
        StateMachine<Phase, Trigger> machine = _machine;
        int moves = 0;
        machine.Fire(Trigger.Start);
        moves += machine.State == Phase.TryingToStart ? 1 : 0;
        machine.Fire(Trigger.Started);
        moves += machine.State == Phase.Active ? 1 : 0;
        machine.Fire(Trigger.Stop);
        moves += machine.State == Phase.TryingToStop ? 1 : 0;
        machine.Fire(Trigger.Stopped);
        return machine.State == Phase.Stopped ? moves + 1 : -1;
    }
}
