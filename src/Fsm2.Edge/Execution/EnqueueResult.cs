namespace Fsm2.Edge.Execution;

/// <summary>What happened to an action <c>Next</c> returned (40-actions §7).</summary>
internal enum EnqueueResult : byte
{
    Enqueued,
    Duplicate,
    BackoffDeferred,
    QueueFull,
    Stopped,
}
