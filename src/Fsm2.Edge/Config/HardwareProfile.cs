using System.Diagnostics;
using System.Text.Json.Serialization;

namespace Fsm2.Edge.Config;

/// <summary>
/// One hardware profile (50-runtime-monitoring §11.1): the timing and sizing of a board class, read from
/// <c>hw-profiles/&lt;name&gt;.json</c>. Every field is required; <see cref="HardwareProfileLoader"/> validates the
/// invariants and <see cref="HardwareProfileLoader.ApplyTo"/> maps the runtime's part onto <c>RuntimeOptions</c>.
/// </summary>
[DebuggerDisplay("{Name,nq} ({Arch,nq}, tick {Tick.IntervalMs} ms)")]
public sealed class HardwareProfile
{
    /// <summary>The profile name (the file name without <c>.json</c> for the shipped profiles).</summary>
    public required string Name { get; init; }

    /// <summary>What board class it describes.</summary>
    public required string Description { get; init; }

    /// <summary><c>x64</c> or <c>arm64</c>.</summary>
    public required string Arch { get; init; }

    /// <summary>Tick interval, budgets and thread priority.</summary>
    public required TickSection Tick { get; init; }

    /// <summary>Action executor sizing.</summary>
    public required ActionsSection Actions { get; init; }

    /// <summary>Observation freshness constants (30-supervision §8.1).</summary>
    public required ObservationSection Observation { get; init; }

    /// <summary>Breaker, probe and removal settings.</summary>
    public required SupervisionSection Supervision { get; init; }

    /// <summary>Metrics export.</summary>
    public required MetricsSection Metrics { get; init; }

    /// <summary>Status publishing.</summary>
    public required StatusSection Status { get; init; }

    /// <summary>Graceful shutdown.</summary>
    public required ShutdownSection Shutdown { get; init; }

    /// <summary>Embedded broker sizing.</summary>
    public required BrokerSection Broker { get; init; }

    /// <summary>Flow buffers.</summary>
    public required FlowsSection Flows { get; init; }

    /// <summary>GC advice (not applied: GC settings cannot change after start).</summary>
    public required GcSection Gc { get; init; }

    /// <summary>The <c>calibrate</c> workload size.</summary>
    public required CalibrationSection Calibration { get; init; }

    /// <summary>The file the profile was read from (set by the loader; not part of the JSON).</summary>
    [JsonIgnore]
    public string SourceFile { get; init; } = "";

    /// <summary><c>$.tick</c>.</summary>
    public sealed class TickSection
    {
        /// <summary>Tick interval in milliseconds (≥ 1).</summary>
        public required int IntervalMs { get; init; }

        /// <summary>Steady-tick p99 budget in microseconds (≤ <see cref="BudgetMaxUs"/>).</summary>
        public required int BudgetP99Us { get; init; }

        /// <summary>Steady-tick maximum in microseconds (≤ interval × 1000).</summary>
        public required int BudgetMaxUs { get; init; }

        /// <summary>Tick thread priority: <c>Lowest</c>, <c>BelowNormal</c>, <c>Normal</c>, <c>AboveNormal</c> or <c>Highest</c>.</summary>
        public required string ThreadPriority { get; init; }
    }

    /// <summary><c>$.actions</c>.</summary>
    public sealed class ActionsSection
    {
        /// <summary>Action threads, 1–256.</summary>
        public required int Threads { get; init; }

        /// <summary>Ring capacity: a power of two, 16–65,536.</summary>
        public required int RingCapacity { get; init; }

        /// <summary>Default per-action timeout in milliseconds.</summary>
        public required int DefaultTimeoutMs { get; init; }

        /// <summary>How long the executor's stop waits for running actions (below <c>shutdown.budget_ms − 500</c>).</summary>
        public required int ShutdownTimeoutMs { get; init; }
    }

    /// <summary><c>$.observation</c>.</summary>
    public sealed class ObservationSection
    {
        /// <summary>Collector period.</summary>
        public required int IntervalMs { get; init; }

        /// <summary>Timeout of one collection; below <see cref="StaleMs"/>.</summary>
        public required int TimeoutMs { get; init; }

        /// <summary>Age at which the FSM pauses; below <see cref="CollectorTimeoutMs"/>.</summary>
        public required int StaleMs { get; init; }

        /// <summary>Age at which collector supervision restarts the collector.</summary>
        public required int CollectorTimeoutMs { get; init; }

        /// <summary>Collector restarts before escalation.</summary>
        public required int MaxCollectorRestarts { get; init; }

        /// <summary>Linear collector restart backoff step.</summary>
        public required int CollectorRestartStepMs { get; init; }
    }

    /// <summary><c>$.supervision</c>.</summary>
    public sealed class SupervisionSection
    {
        /// <summary>Breaker backoff base delay (≤ <see cref="BackoffMaxMs"/>).</summary>
        public required int BackoffBaseMs { get; init; }

        /// <summary>Breaker backoff cap.</summary>
        public required int BackoffMaxMs { get; init; }

        /// <summary>Relative backoff jitter, 0 ≤ J &lt; 1.</summary>
        public required double Jitter { get; init; }

        /// <summary>Breaker stability window.</summary>
        public required int StabilityWindowMs { get; init; }

        /// <summary>Probe period.</summary>
        public required int ProbeIntervalMs { get; init; }

        /// <summary>Probe timeout; below <see cref="ProbeIntervalMs"/>.</summary>
        public required int ProbeTimeoutMs { get; init; }

        /// <summary>Consecutive misses before a probe is unhealthy (≥ 1).</summary>
        public required int ProbeMissThreshold { get; init; }

        /// <summary>Forced finalization of a removing subtree.</summary>
        public required int RemovalTimeoutMs { get; init; }

        /// <summary>Maximum tree depth (top-level entries are depth 1), ≥ 1.</summary>
        public required int MaxDepth { get; init; }
    }

    /// <summary><c>$.metrics</c>.</summary>
    public sealed class MetricsSection
    {
        /// <summary>Metrics export interval (≥ 1000).</summary>
        public required int IntervalMs { get; init; }

        /// <summary>Whether series carry a <c>node</c> tag.</summary>
        public required bool NodeLabels { get; init; }
    }

    /// <summary><c>$.status</c>.</summary>
    public sealed class StatusSection
    {
        /// <summary>Minimum spacing of one node's status publications.</summary>
        public required int MinIntervalMs { get; init; }

        /// <summary>Full status refresh period.</summary>
        public required int RefreshIntervalMs { get; init; }

        /// <summary>Runtime heartbeat period (≥ 1000).</summary>
        public required int HeartbeatMs { get; init; }
    }

    /// <summary><c>$.shutdown</c>.</summary>
    public sealed class ShutdownSection
    {
        /// <summary>Whole shutdown budget, signal to exit (≥ 1000); the tree drain gets 500 ms less.</summary>
        public required int BudgetMs { get; init; }
    }

    /// <summary><c>$.broker</c>.</summary>
    public sealed class BrokerSection
    {
        /// <summary>Embedded broker queue per client (≥ 1000).</summary>
        public required int MaxPendingMessagesPerClient { get; init; }
    }

    /// <summary><c>$.flows</c>.</summary>
    public sealed class FlowsSection
    {
        /// <summary>Per-flow message buffer (≥ 1).</summary>
        public required int BufferCapacity { get; init; }
    }

    /// <summary><c>$.gc</c>: advice only.</summary>
    public sealed class GcSection
    {
        /// <summary>Server GC.</summary>
        public required bool Server { get; init; }

        /// <summary>Concurrent (background) GC.</summary>
        public required bool Concurrent { get; init; }

        /// <summary>Heap hard limit in MB; 0 = none.</summary>
        public required int HeapHardLimitMb { get; init; }

        /// <summary>GCConserveMemory level 0–9.</summary>
        public required int ConserveMemory { get; init; }

        /// <summary>Environment variables that set the above.</summary>
        public required IReadOnlyDictionary<string, string> Env { get; init; }
    }

    /// <summary><c>$.calibration</c>.</summary>
    public sealed class CalibrationSection
    {
        /// <summary>Workers of the W1 workload.</summary>
        public required int Workers { get; init; }

        /// <summary>Measured ticks.</summary>
        public required int Ticks { get; init; }

        /// <summary>Warm-up ticks.</summary>
        public required int WarmupTicks { get; init; }
    }
}

/// <summary>Source-generated (AOT-safe) JSON metadata of <see cref="HardwareProfile"/>: snake_case, strict.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(HardwareProfile))]
internal sealed partial class HardwareProfileJsonContext : JsonSerializerContext;
