using Fsm2.Edge.Config;
using Fsm2.Edge.Supervision;

namespace Fsm2.Edge.Host;

/// <summary>
/// What a running host exposes to its caller once the runtime has started (<see cref="HostOptions.Started"/>). Readers
/// use only the runtime's thread-safe surface: the published <see cref="SupervisorRuntime.Status"/>, its counters and
/// lock-free commands, and the metrics its meters publish.
/// </summary>
/// <param name="Runtime">The running runtime.</param>
/// <param name="Config">The config it started with.</param>
/// <param name="BrokerEndpoint">Where the clients connect, e.g. <c>mqtt://127.0.0.1:1883</c>.</param>
/// <param name="StartedAt">When the runtime started (host clock).</param>
internal sealed record HostStarted(SupervisorRuntime Runtime, EdgeConfig Config, string BrokerEndpoint, DateTimeOffset StartedAt);
