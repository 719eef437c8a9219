using System.Text.Json;

namespace Fsm2.Edge.Workers;

/// <summary>
/// Optional companion of <see cref="IWorker{TObserved, TDesired}"/>: a worker type that implements it writes a summary of
/// its latest observation into its node's status, the <c>observed</c> object of shared/spec/50-runtime-monitoring.md
/// §6.3 (fields per built-in type in §7). Without it the status carries <c>"observed":null</c>.
/// </summary>
/// <typeparam name="TObserved">The worker's observation type.</typeparam>
/// <remarks>
/// <para><b>Thread and cost.</b> Called by a status publisher off the tick thread (never by the tick), on the observation
/// the node's slot holds when the status is written, so it costs the tick nothing. It may run concurrently with the
/// worker's collector and with <c>Next</c>: it must read only the observation (immutable) and the children
/// view, never the worker's mutable fields, and must not block.</para>
/// <para><b>Shape.</b> The writer is positioned inside the <c>observed</c> object: write properties only (camelCase
/// names, RFC 3339 UTC timestamps with milliseconds, <c>null</c> for unknown values). The object is opened and closed by
/// the caller. An exception is contained by the publisher: that status then carries <c>"observed":null</c>.</para>
/// <para><b>When published.</b> Observed values ride along with a status; they never trigger one (a status is published
/// on a state, reason, breaker or similar change, and on the periodic full refresh).</para>
/// <para>The spec names the hook <c>WriteStatus(Utf8JsonWriter, TObserved)</c>; the children view is added because a
/// parent's summary (the protocol converter's <c>childrenActive</c>, <c>childrenTotal</c>) comes from its children, not
/// from its observation.</para>
/// </remarks>
public interface IWorkerStatusWriter<in TObserved>
    where TObserved : class
{
    /// <summary>Writes the properties of the <c>observed</c> status object.</summary>
    /// <param name="writer">The status writer, positioned inside the <c>observed</c> object.</param>
    /// <param name="observed">The node's latest observation.</param>
    /// <param name="children">The node's active children as of its latest status (empty for leaves).</param>
    void WriteStatus(Utf8JsonWriter writer, TObserved observed, ChildrenView children);
}
