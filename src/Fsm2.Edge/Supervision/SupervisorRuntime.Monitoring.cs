namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorRuntime
{
    /// <summary>Actions queued and not yet taken by an action thread (the runtime heartbeat's <c>actions.ringUsed</c>);
    /// 0 for an executor that does not count them.</summary>
    public int ActionQueueDepth => _executor.QueueDepth;

    /// <summary>
    /// The value of this runtime's <c>fsm2.runtime</c> tag on its <c>Fsm2.Edge</c> meter (unique per instance): an exporter
    /// serving this runtime takes <c>Fsm2.Edge</c> meters with this tag or without the tag (the MQTT layer's, the process
    /// instruments) and skips those of other runtimes in the same process.
    /// </summary>
    public string MeterRuntimeTag => Metrics.RuntimeTag;
}
