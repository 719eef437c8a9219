using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>A probe whose outcome the test sets; it completes synchronously, so a fake clock's Advance runs it.</summary>
public sealed class FakeProbe(string id, TimeSpan interval, TimeSpan timeout, int missThreshold) : IInfrastructureProbe
{
    private int _outcome;
    private int _hang;
    private int _runs;

    public string Id { get; } = id;

    public TimeSpan Interval { get; } = interval;

    public TimeSpan Timeout { get; } = timeout;

    public int MissThreshold { get; } = missThreshold;

    public ProbeOutcome Outcome
    {
        get => (ProbeOutcome)Volatile.Read(ref _outcome);
        set => Volatile.Write(ref _outcome, (int)value);
    }

    /// <summary>When set, runs never complete (and ignore cancellation): the verdict goes stale.</summary>
    public bool Hang
    {
        get => Volatile.Read(ref _hang) != 0;
        set => Volatile.Write(ref _hang, value ? 1 : 0);
    }

    public int Runs => Volatile.Read(ref _runs);

    public ValueTask<ProbeOutcome> RunAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runs);
        return Hang ? new ValueTask<ProbeOutcome>(new TaskCompletionSource<ProbeOutcome>().Task) : ValueTask.FromResult(Outcome);
    }
}

/// <summary>Registers the "fake" probe type on a harness and keeps the created probes by id.</summary>
public static class FakeProbes
{
    public const string Type = "fake";

    /// <summary>Probe timing used by the supervision tests: fast enough that a 100 ms step sees a new verdict soon.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    public static Dictionary<string, FakeProbe> Register(Harness harness)
    {
        var probes = new Dictionary<string, FakeProbe>(StringComparer.Ordinal);
        harness.Runtime.Probes.Register(Type, (spec, _) =>
        {
            var probe = new FakeProbe(spec.Id, spec.Interval, spec.Timeout, spec.MissThreshold);
            lock (probes)
            {
                probes[spec.Id] = probe;
            }

            return probe;
        });
        return probes;
    }

    /// <summary>The spec with one fake probe attached.</summary>
    public static ChildSpec WithProbe(this ChildSpec spec, string id)
        => spec with { Probes = [new ProbeSpec(Type, id, "fake:1", Interval, Interval / 2)] };
}
