namespace Fsm2.Edge.Execution;

/// <summary>Which queue carries actions from the tick thread to the action threads (40-actions §5).</summary>
public enum ActionQueueKind
{
    /// <summary>The lock-free, preallocated ring with pooled envelopes (the default).</summary>
    Ring = 0,

    /// <summary>The bounded <c>System.Threading.Channels</c> baseline, for diagnosis and benchmarks.</summary>
    Channel = 1,
}
