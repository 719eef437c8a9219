using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorRuntime
{
    // Shared: any thread enqueues; the tick thread completes the requests at the end of its next tick (§3.2, §4.1 step 4).
    private readonly ConcurrentQueue<DumpRequest> _dumpRequests = new();

    /// <summary>
    /// Requests a diagnostic dump of the worker store (§3.2): one entry per live worker record with its identity, its
    /// desired record (state, config, shutdown flag, version) and its observation (value, <c>CollectedAt</c>,
    /// sequence). The dump is built on the tick thread at the end of the next tick and serialized as JSON. It never
    /// contains <c>Internal</c> variables. Safe from any thread.
    /// </summary>
    /// <remarks>
    /// In manual mode the request completes when the caller runs the next <see cref="TickOnce"/>. Config and observation
    /// values are written with <see cref="object.ToString"/>.
    /// </remarks>
    /// <param name="cancellationToken">Cancels the wait for the next tick.</param>
    /// <returns>The dump as a UTF-8 JSON document (a string).</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the next tick ended.</exception>
    /// <exception cref="InvalidOperationException">The tick thread has stopped, so no further tick will build the dump.</exception>
    public Task<string> RequestDumpAsync(CancellationToken cancellationToken = default)
    {
        var request = new DumpRequest();
        if (cancellationToken.CanBeCanceled)
        {
            request.Registration = cancellationToken.Register(
                static (s, token) => ((DumpRequest)s!).TrySetCanceled(token), request);
        }

        _dumpRequests.Enqueue(request);
        if (_tickThreadExited.Task.IsCompleted)
        {
            FailPendingDumps();
        }

        return request.Task;
    }

    /// <summary>Tick thread, end of a tick: builds the dump once and hands it to every pending request.</summary>
    private void CompletePendingDumps(DateTimeOffset now)
    {
        // PERF: ConcurrentQueue.IsEmpty reads two indices and allocates nothing, so a tick without requests stays at 0 B.
        if (_dumpRequests.IsEmpty)
        {
            return;
        }

        string? dump = null;
        while (_dumpRequests.TryDequeue(out DumpRequest? request))
        {
            request.Registration.Unregister();
            if (request.Task.IsCompleted)
            {
                continue;
            }

            dump ??= BuildDump(now);
            request.TrySetResult(dump);
        }
    }

    /// <summary>The tick thread stopped: nobody will build a dump any more.</summary>
    private void FailPendingDumps()
    {
        while (_dumpRequests.TryDequeue(out DumpRequest? request))
        {
            request.Registration.Unregister();
            request.TrySetException(new InvalidOperationException("the tick thread has stopped; no dump can be built"));
        }
    }

    private string BuildDump(DateTimeOffset now)
    {
        var nodes = new List<SupervisorNode>(_store.Values);
        nodes.Sort(static (a, b) => string.CompareOrdinal(a.Path, b.Path));

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("generatedAt", now);
            writer.WriteNumber("liveWorkers", nodes.Count);
            writer.WriteStartArray("workers");
            foreach (SupervisorNode node in nodes)
            {
                WriteRecord(writer, node);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteRecord(Utf8JsonWriter writer, SupervisorNode node)
    {
        Identity identity = node.Identity;
        writer.WriteStartObject();
        writer.WriteStartObject("identity");
        writer.WriteString("id", identity.Id);
        writer.WriteString("name", identity.Name);
        writer.WriteString("workerType", identity.WorkerType);
        writer.WriteString("parentId", identity.ParentId);
        writer.WriteEndObject();
        writer.WriteString("lifecycle", node.Lifecycle switch
        {
            NodeLifecycle.Active => "active",
            NodeLifecycle.Removing => "removing",
            _ => "finalized",
        });
        writer.WriteString("state", node.CurrentStateName);

        // Only the store record: identity, desired, observed. The injected spec (and with it the Internal variables)
        // is never part of a record, so it cannot leak into a dump.
        if (node.Worker is { } worker)
        {
            worker.WriteRecords(writer);
        }
        else
        {
            writer.WriteNull("desired");
            writer.WriteNull("observed");
        }

        writer.WriteEndObject();
    }

    /// <summary>One pending request; continuations never run on the tick thread.</summary>
    private sealed class DumpRequest : TaskCompletionSource<string>
    {
        public DumpRequest()
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
        }

        // Owner: written by the requesting thread before the request is enqueued; read by whoever completes it.
        public CancellationTokenRegistration Registration { get; set; }
    }
}
