using Fsm2.Edge.Execution;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fsm2.Edge.Benchmarks.Execution;

/// <summary>The two executors under comparison (shared/spec/40-actions.md §5).</summary>
public enum ExecutorKind
{
    /// <summary><see cref="RingActionExecutor"/>, the default.</summary>
    Ring,

    /// <summary><see cref="ChannelActionExecutor"/>, the bounded-channel baseline.</summary>
    Channel,
}

/// <summary>Builds executors, slots and contexts the way RingActionExecutorTests does (EdgeMetrics, NullLogger, system clock).</summary>
internal static class ExecutorSetup
{
    /// <summary>Request capacity of every executor built here.</summary>
    public const int Capacity = 1024;

    public static IActionExecutor Create(ExecutorKind kind, int threads, EdgeMetrics metrics) => kind switch
    {
        ExecutorKind.Ring => new RingActionExecutor(Capacity, threads, TimeSpan.FromSeconds(30), TimeProvider.System, NullLogger.Instance, metrics),
        ExecutorKind.Channel => new ChannelActionExecutor(Capacity, threads, TimeSpan.FromSeconds(30), TimeProvider.System, NullLogger.Instance, metrics),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown executor"),
    };

    public static ActionContext Context(string id) => new()
    {
        Worker = new Identity(id, id, "bench", ""),
        NodePath = id,
        Dependencies = id,
        Time = TimeProvider.System,
        Logger = NullLogger.Instance,
    };

    /// <summary>Tick thread: takes every completion available and clears its slot's in-flight flag.</summary>
    /// <returns>How many completions were taken.</returns>
    public static int Drain(IActionExecutor executor)
    {
        int drained = 0;
        while (executor.TryDequeueCompletion(out ActionCompletion completion))
        {
            completion.Slot.InFlight = false;
            drained++;
        }

        return drained;
    }
}

/// <summary>A cached trivial action that completes synchronously.</summary>
internal sealed class SyncAction : IAction
{
    public string Kind => "bench-sync";

    public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken) => default;
}

/// <summary>A trivial synchronous action that stamps <see cref="TimeProvider.GetTimestamp"/> when it starts (W6).</summary>
internal sealed class StampingAction : IAction
{
    private long _startedAt;

    public string Kind => "bench-stamp";

    /// <summary>The timestamp of the latest start (system clock ticks).</summary>
    public long StartedAt => Volatile.Read(ref _startedAt);

    public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _startedAt, TimeProvider.System.GetTimestamp());
        return default;
    }
}
