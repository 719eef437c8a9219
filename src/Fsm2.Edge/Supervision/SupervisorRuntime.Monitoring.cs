namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorRuntime
{
    /// <summary>Actions queued and not yet taken by an action thread (the runtime heartbeat's <c>actions.ringUsed</c>);
    /// 0 for an executor that does not count them.</summary>
    public int ActionQueueDepth => _executor.QueueDepth;
}
