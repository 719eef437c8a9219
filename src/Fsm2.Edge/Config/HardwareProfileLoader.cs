using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Config;

/// <summary>
/// Finds, reads and validates hardware profiles (50-runtime-monitoring §11), and applies them to
/// <see cref="RuntimeOptions"/>. Reading uses a source-generated <c>System.Text.Json</c> context, so it is AOT-safe.
/// </summary>
/// <remarks>
/// Errors are FSM2CFG050 (unknown profile) and FSM2CFG051 (unreadable file, unknown or missing field, wrong type, broken
/// invariant), each naming the file and the JSON path. The two timing rules of 30-supervision §8.1 that are only
/// advice (<c>observation.interval_ms &lt; stale_ms</c>, <c>tick.interval_ms ≤ observation.interval_ms</c>) are
/// FSM2CFG051 warnings naming both fields; the profile still loads.
/// </remarks>
public static class HardwareProfileLoader
{
    /// <summary>The default profile on x64 machines.</summary>
    public const string DefaultX64Profile = "x64-gateway";

    /// <summary>The default profile on ARM64 machines.</summary>
    public const string DefaultArm64Profile = "arm64-gateway";

    private static readonly string[] s_threadPriorities = ["Lowest", "BelowNormal", "Normal", "AboveNormal", "Highest"];

    /// <summary>
    /// The default profile of this machine's architecture: <c>arm64-gateway</c> on ARM64, <c>x64-gateway</c> elsewhere.
    /// </summary>
    public static string DefaultProfileName => ArchitectureDefault(RuntimeInformation.ProcessArchitecture);

    /// <summary>The default profile of an architecture: <c>arm64-gateway</c> for ARM64, <c>x64-gateway</c> otherwise.</summary>
    /// <param name="architecture">The process architecture.</param>
    /// <returns>The profile name.</returns>
    public static string ArchitectureDefault(Architecture architecture)
        => architecture == Architecture.Arm64 ? DefaultArm64Profile : DefaultX64Profile;

    /// <summary>
    /// Loads a profile by name (searched as <see cref="ProfileLookup"/> describes) or, when the value ends in
    /// <c>.json</c>, by path.
    /// </summary>
    /// <param name="nameOrPath">A profile name (<c>arm64-gateway</c>) or a <c>.json</c> path.</param>
    /// <param name="lookup">Where to search names.</param>
    /// <param name="overrides">Optional field overrides in the profile schema (<c>runtime.overrides</c>), merged before validation.</param>
    /// <param name="logger">Receives <c>profile_loaded</c> and the timing warnings; <see langword="null"/> logs nothing.</param>
    /// <returns>The profile or the findings.</returns>
    public static ProfileLoadResult Load(string nameOrPath, ProfileLookup lookup, JsonObject? overrides = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        ArgumentNullException.ThrowIfNull(lookup);
        if (nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return LoadFile(nameOrPath, overrides, logger);
        }

        bool unreadable = false;
        foreach (string directory in lookup.SearchDirectories())
        {
            string candidate = Path.Combine(directory, nameOrPath + ".json");
            if (File.Exists(candidate))
            {
                return LoadFile(candidate, overrides, logger);
            }
        }

        SortedSet<string> available = ListNames(lookup, ref unreadable);
        string list = available.Count == 0 ? "none found in " + string.Join(", ", lookup.SearchDirectories()) : string.Join(", ", available);
        var finding = new ConfigFinding(nameOrPath, 0, 0, FindingSeverity.Error, ConfigCodes.UnknownProfile, "",
            $"unknown profile '{nameOrPath}'; available: {list}");
        return new ProfileLoadResult(null, [finding], unreadable);
    }

    /// <summary>Loads and validates one profile file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="overrides">Optional overrides in the profile schema, merged before validation.</param>
    /// <param name="logger">Receives <c>profile_loaded</c> and the timing warnings; <see langword="null"/> logs nothing.</param>
    /// <returns>The profile or the findings.</returns>
    public static ProfileLoadResult LoadFile(string path, JsonObject? overrides = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(path, 0, 0, "$", $"cannot read {path}: {ex.Message}");
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            return Fail(path, (int)(ex.LineNumber ?? -1) + 1, (int)(ex.BytePositionInLine ?? -1) + 1, ex.Path ?? "$", Clean(ex.Message));
        }

        if (root is not JsonObject rootObject)
        {
            return Fail(path, 1, 1, "$", "a profile must be a JSON object");
        }

        if (overrides is not null)
        {
            Merge(rootObject, overrides);
        }

        HardwareProfile? profile;
        try
        {
            profile = rootObject.Deserialize(HardwareProfileJsonContext.Default.HardwareProfile);
        }
        catch (JsonException ex)
        {
            string jsonPath = ex.Path ?? "$";
            string message = Describe(ex, ref jsonPath);
            return Fail(path, FindLine(bytes, jsonPath), 1, jsonPath, message);
        }

        if (profile is null)
        {
            return Fail(path, 1, 1, "$", "a profile must be a JSON object");
        }

        profile = new HardwareProfile
        {
            Name = profile.Name,
            Description = profile.Description,
            Arch = profile.Arch,
            Tick = profile.Tick,
            Actions = profile.Actions,
            Observation = profile.Observation,
            Supervision = profile.Supervision,
            Metrics = profile.Metrics,
            Status = profile.Status,
            Shutdown = profile.Shutdown,
            Broker = profile.Broker,
            Flows = profile.Flows,
            Gc = profile.Gc,
            Calibration = profile.Calibration,
            SourceFile = path,
        };

        var findings = new List<ConfigFinding>();
        Validate(profile, (severity, jsonPath, message) =>
            findings.Add(new ConfigFinding(path, FindLine(bytes, jsonPath), 1, severity, ConfigCodes.InvalidProfile, jsonPath, message)));
        IReadOnlyList<ConfigFinding> sorted = ConfigFinding.Sort(findings);
        bool failed = sorted.Any(static f => f.IsError);
        if (logger is not null)
        {
            foreach (ConfigFinding warning in sorted.Where(static f => !f.IsError))
            {
                Log.ProfileWarning(logger, profile.Name, warning.ToString());
            }

            if (!failed)
            {
                Log.ProfileLoaded(logger, profile.Name, path, profile.Tick.IntervalMs, profile.Actions.Threads, profile.Actions.RingCapacity);
            }
        }

        return new ProfileLoadResult(failed ? null : profile, sorted);
    }

    /// <summary>
    /// Lists every profile found in the lookup directories (a name found in an earlier directory hides later ones).
    /// Invalid files are returned as findings.
    /// </summary>
    /// <param name="lookup">Where to search.</param>
    /// <returns>The valid profiles sorted by name, and the findings of the invalid ones.</returns>
    public static (IReadOnlyList<HardwareProfile> Profiles, IReadOnlyList<ConfigFinding> Findings, bool DirectoryUnreadable) List(ProfileLookup lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        bool unreadable = false;
        var profiles = new List<HardwareProfile>();
        var findings = new List<ConfigFinding>();
        foreach (string name in ListNames(lookup, ref unreadable))
        {
            ProfileLoadResult result = Load(name, lookup);
            if (result.Succeeded)
            {
                profiles.Add(result.Profile);
            }

            findings.AddRange(result.Findings);
        }

        return (profiles, findings, unreadable);
    }

    /// <summary>
    /// Applies the runtime's part of a profile to <paramref name="options"/>: tick interval, action threads, ring
    /// capacity, action timeouts, observation timings, removal timeout, maximum depth, metrics interval and the drain
    /// budget. The drain budget (<see cref="RuntimeOptions.ShutdownBudget"/>) is <c>shutdown.budget_ms</c> − 500 ms,
    /// because the host reserves the last 0.5 s for final status and disconnects (50-runtime-monitoring §10).
    /// </summary>
    /// <param name="profile">A validated profile.</param>
    /// <param name="options">The options to start from (fields the profile does not cover are kept).</param>
    /// <returns>A copy of <paramref name="options"/> with the profile's values.</returns>
    public static RuntimeOptions ApplyTo(HardwareProfile profile, RuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            TickInterval = Ms(profile.Tick.IntervalMs),
            ActionThreads = profile.Actions.Threads,
            ActionQueueCapacity = profile.Actions.RingCapacity,
            ActionTimeout = Ms(profile.Actions.DefaultTimeoutMs),
            ActionShutdownTimeout = Ms(profile.Actions.ShutdownTimeoutMs),
            ObservationInterval = Ms(profile.Observation.IntervalMs),
            ObservationTimeout = Ms(profile.Observation.TimeoutMs),
            StaleThreshold = Ms(profile.Observation.StaleMs),
            CollectorTimeout = Ms(profile.Observation.CollectorTimeoutMs),
            MaxCollectorRestarts = profile.Observation.MaxCollectorRestarts,
            CollectorRestartStep = Ms(profile.Observation.CollectorRestartStepMs),
            RemovalTimeout = Ms(profile.Supervision.RemovalTimeoutMs),
            MaxHierarchyDepth = profile.Supervision.MaxDepth,

            // $.supervision's backoff drives both backoffs of the runtime: the infrastructure breaker's trials
            // (30-supervision §5.3) and the per-worker action retry (40-actions §11), which the spec gives the same
            // 1 s → 60 s, ±20 % shape. A profile (or `runtime.overrides`) with jitter 0 makes both deterministic.
            BreakerBaseDelay = Ms(profile.Supervision.BackoffBaseMs),
            BreakerMaxDelay = Ms(profile.Supervision.BackoffMaxMs),
            BreakerJitter = profile.Supervision.Jitter,
            BreakerStabilityWindow = Ms(profile.Supervision.StabilityWindowMs),
            ActionBackoffBase = Ms(profile.Supervision.BackoffBaseMs),
            ActionBackoffMax = Ms(profile.Supervision.BackoffMaxMs),
            ActionBackoffJitter = profile.Supervision.Jitter,
            ProbeInterval = Ms(profile.Supervision.ProbeIntervalMs),
            ProbeTimeout = Ms(profile.Supervision.ProbeTimeoutMs),
            ProbeMissThreshold = profile.Supervision.ProbeMissThreshold,
            MetricsInterval = Ms(profile.Metrics.IntervalMs),
            ShutdownBudget = Ms(profile.Shutdown.BudgetMs) - HostShutdownReserve,
        };

        static TimeSpan Ms(int milliseconds) => TimeSpan.FromMilliseconds(milliseconds);
    }

    /// <summary>The part of <c>shutdown.budget_ms</c> the host keeps for final publications and disconnects: 0.5 s (§10).</summary>
    public static TimeSpan HostShutdownReserve { get; } = TimeSpan.FromMilliseconds(500);

    private static SortedSet<string> ListNames(ProfileLookup lookup, ref bool unreadable)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string directory in lookup.SearchDirectories())
        {
            if (!Directory.Exists(directory))
            {
                continue;
            }

            try
            {
                foreach (string file in Directory.EnumerateFiles(directory, "*.json"))
                {
                    names.Add(Path.GetFileNameWithoutExtension(file));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                unreadable = true;
            }
        }

        return names;
    }

    private delegate void Report(FindingSeverity severity, string jsonPath, string message);

    private static void Validate(HardwareProfile p, Report report)
    {
        void Error(string jsonPath, string message) => report(FindingSeverity.Error, jsonPath, message);

        if (string.IsNullOrWhiteSpace(p.Name))
        {
            Error("$.name", "must not be empty");
        }

        if (p.Arch is not ("x64" or "arm64"))
        {
            Error("$.arch", $"'{p.Arch}' must be x64 or arm64");
        }

        if (Array.IndexOf(s_threadPriorities, p.Tick.ThreadPriority) < 0)
        {
            Error("$.tick.thread_priority", $"'{p.Tick.ThreadPriority}' must be one of {string.Join(", ", s_threadPriorities)}");
        }

        // Negative durations and counts are never valid (30-supervision §8.1); the lower bounds above zero follow.
        (string Path, double Value, double Min)[] bounds =
        [
            ("$.tick.interval_ms", p.Tick.IntervalMs, 1),
            ("$.tick.budget_p99_us", p.Tick.BudgetP99Us, 1),
            ("$.tick.budget_max_us", p.Tick.BudgetMaxUs, 1),
            ("$.actions.default_timeout_ms", p.Actions.DefaultTimeoutMs, 1),
            ("$.actions.shutdown_timeout_ms", p.Actions.ShutdownTimeoutMs, 0),
            ("$.observation.interval_ms", p.Observation.IntervalMs, 1),
            ("$.observation.timeout_ms", p.Observation.TimeoutMs, 1),
            ("$.observation.stale_ms", p.Observation.StaleMs, 1),
            ("$.observation.collector_timeout_ms", p.Observation.CollectorTimeoutMs, 1),
            ("$.observation.max_collector_restarts", p.Observation.MaxCollectorRestarts, 0),
            ("$.observation.collector_restart_step_ms", p.Observation.CollectorRestartStepMs, 0),
            ("$.supervision.backoff_base_ms", p.Supervision.BackoffBaseMs, 1),
            ("$.supervision.backoff_max_ms", p.Supervision.BackoffMaxMs, 1),
            ("$.supervision.stability_window_ms", p.Supervision.StabilityWindowMs, 0),
            ("$.supervision.probe_interval_ms", p.Supervision.ProbeIntervalMs, 1),
            ("$.supervision.probe_timeout_ms", p.Supervision.ProbeTimeoutMs, 1),
            ("$.supervision.probe_miss_threshold", p.Supervision.ProbeMissThreshold, 1),
            ("$.supervision.removal_timeout_ms", p.Supervision.RemovalTimeoutMs, 1),
            ("$.supervision.max_depth", p.Supervision.MaxDepth, 1),

            // §3.2: metrics and heartbeat intervals are at least 1 s.
            ("$.metrics.interval_ms", p.Metrics.IntervalMs, 1000),
            ("$.status.min_interval_ms", p.Status.MinIntervalMs, 0),
            ("$.status.refresh_interval_ms", p.Status.RefreshIntervalMs, 1),
            ("$.status.heartbeat_ms", p.Status.HeartbeatMs, 1000),
            ("$.shutdown.budget_ms", p.Shutdown.BudgetMs, 1000),

            // §3.2: the embedded broker queue is at least 1,000 (MQTTnet's 250 silently drops, §5.1).
            ("$.broker.max_pending_messages_per_client", p.Broker.MaxPendingMessagesPerClient, 1000),
            ("$.flows.buffer_capacity", p.Flows.BufferCapacity, 1),
            ("$.gc.heap_hard_limit_mb", p.Gc.HeapHardLimitMb, 0),
            ("$.calibration.workers", p.Calibration.Workers, 1),
            ("$.calibration.ticks", p.Calibration.Ticks, 1),
            ("$.calibration.warmup_ticks", p.Calibration.WarmupTicks, 0),
        ];
        foreach ((string path, double value, double min) in bounds)
        {
            if (value < min)
            {
                Error(path, string.Create(CultureInfo.InvariantCulture, $"{value} is below the minimum {min}"));
            }
        }

        if (p.Gc.ConserveMemory is < 0 or > 9)
        {
            Error("$.gc.conserve_memory", string.Create(CultureInfo.InvariantCulture, $"{p.Gc.ConserveMemory} must be from 0 to 9"));
        }

        // 40-actions §4 and A-08: a power-of-two ring of 16 to 65,536 slots; 1 to 256 threads.
        int ring = p.Actions.RingCapacity;
        if (ring is < 16 or > 65_536)
        {
            Error("$.actions.ring_capacity", string.Create(CultureInfo.InvariantCulture, $"{ring} must be a power of two from 16 to 65536"));
        }
        else if (!BitOperations.IsPow2(ring))
        {
            Error("$.actions.ring_capacity", string.Create(CultureInfo.InvariantCulture, $"{ring} is not a power of two"));
        }

        if (p.Actions.Threads is < 1 or > 256)
        {
            Error("$.actions.threads", string.Create(CultureInfo.InvariantCulture, $"{p.Actions.Threads} must be from 1 to 256"));
        }

        // 30-supervision §8.1 and S-35: timeout < stale < collector timeout.
        if (p.Observation.TimeoutMs >= p.Observation.StaleMs)
        {
            Error("$.observation.timeout_ms", string.Create(CultureInfo.InvariantCulture,
                $"{p.Observation.TimeoutMs} must be less than $.observation.stale_ms ({p.Observation.StaleMs})"));
        }

        if (p.Observation.CollectorTimeoutMs <= p.Observation.StaleMs)
        {
            Error("$.observation.collector_timeout_ms", string.Create(CultureInfo.InvariantCulture,
                $"{p.Observation.CollectorTimeoutMs} must be greater than $.observation.stale_ms ({p.Observation.StaleMs})"));
        }

        if (p.Tick.BudgetP99Us > p.Tick.BudgetMaxUs)
        {
            Error("$.tick.budget_p99_us", string.Create(CultureInfo.InvariantCulture,
                $"{p.Tick.BudgetP99Us} must not exceed $.tick.budget_max_us ({p.Tick.BudgetMaxUs})"));
        }

        if ((long)p.Tick.BudgetMaxUs > p.Tick.IntervalMs * 1000L)
        {
            Error("$.tick.budget_max_us", string.Create(CultureInfo.InvariantCulture,
                $"{p.Tick.BudgetMaxUs} must not exceed $.tick.interval_ms × 1000 ({p.Tick.IntervalMs * 1000L})"));
        }

        if (p.Actions.ShutdownTimeoutMs >= p.Shutdown.BudgetMs - 500)
        {
            Error("$.actions.shutdown_timeout_ms", string.Create(CultureInfo.InvariantCulture,
                $"{p.Actions.ShutdownTimeoutMs} must be less than $.shutdown.budget_ms − 500 ({p.Shutdown.BudgetMs - 500})"));
        }

        if (p.Supervision.BackoffBaseMs > p.Supervision.BackoffMaxMs)
        {
            Error("$.supervision.backoff_base_ms", string.Create(CultureInfo.InvariantCulture,
                $"{p.Supervision.BackoffBaseMs} must not exceed $.supervision.backoff_max_ms ({p.Supervision.BackoffMaxMs})"));
        }

        if (p.Supervision.Jitter is not (>= 0 and < 1))
        {
            Error("$.supervision.jitter", string.Create(CultureInfo.InvariantCulture, $"{p.Supervision.Jitter} must be at least 0 and below 1"));
        }

        if (p.Supervision.ProbeTimeoutMs >= p.Supervision.ProbeIntervalMs)
        {
            Error("$.supervision.probe_timeout_ms", string.Create(CultureInfo.InvariantCulture,
                $"{p.Supervision.ProbeTimeoutMs} must be less than $.supervision.probe_interval_ms ({p.Supervision.ProbeIntervalMs})"));
        }

        // 30-supervision §8.1: documented by the Go original but never checked; here warnings naming both fields.
        if (p.Observation.IntervalMs >= p.Observation.StaleMs)
        {
            report(FindingSeverity.Warning, "$.observation.interval_ms", string.Create(CultureInfo.InvariantCulture,
                $"{p.Observation.IntervalMs} is not below $.observation.stale_ms ({p.Observation.StaleMs}): every observation arrives stale"));
        }

        if (p.Tick.IntervalMs > p.Observation.IntervalMs)
        {
            report(FindingSeverity.Warning, "$.tick.interval_ms", string.Create(CultureInfo.InvariantCulture,
                $"{p.Tick.IntervalMs} exceeds $.observation.interval_ms ({p.Observation.IntervalMs}): observations arrive faster than ticks consume them"));
        }
    }

    /// <summary>Overrides win per leaf; objects merge recursively.</summary>
    private static void Merge(JsonObject target, JsonObject overrides)
    {
        foreach (KeyValuePair<string, JsonNode?> pair in overrides)
        {
            if (pair.Value is JsonObject child && target[pair.Key] is JsonObject existing)
            {
                Merge(existing, child);
            }
            else
            {
                target[pair.Key] = pair.Value?.DeepClone();
            }
        }
    }

    /// <summary>Rewrites System.Text.Json's messages into the user's terms (missing and unknown fields).</summary>
    private static string Describe(JsonException ex, ref string jsonPath)
    {
        string message = ex.Message;
        const string MissingMarker = "missing required properties including: ";
        int missing = message.IndexOf(MissingMarker, StringComparison.Ordinal);
        if (missing >= 0)
        {
            string names = message[(missing + MissingMarker.Length)..].TrimEnd('.', ' ').Replace("'", "", StringComparison.Ordinal);
            string first = names.Split(',')[0].Trim();
            jsonPath = (jsonPath == "$" ? "$" : jsonPath) + "." + first;
            return $"required field missing ({names})";
        }

        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return "unknown field";
        }

        return Clean(message);
    }

    private static string Clean(string message)
    {
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private static ProfileLoadResult Fail(string file, int line, int column, string jsonPath, string message)
        => new(null, [new ConfigFinding(file, line, column, FindingSeverity.Error, ConfigCodes.InvalidProfile, jsonPath, message)]);

    /// <summary>The 1-based line of the property at <paramref name="jsonPath"/> (<c>$.a.b</c>), or 0 when absent.</summary>
    private static int FindLine(byte[] json, string jsonPath)
    {
        string[] want = jsonPath.TrimStart('$').TrimStart('.').Split('.', StringSplitOptions.RemoveEmptyEntries);
        if (want.Length == 0)
        {
            return 0;
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var stack = new List<string?>();
        string? pendingName = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        pendingName = reader.GetString();
                        if (stack.Count == want.Length && pendingName == want[^1] && Matches(stack, want))
                        {
                            return LineOf(json, (int)reader.TokenStartIndex);
                        }

                        break;
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        stack.Add(pendingName);
                        pendingName = null;
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        stack.RemoveAt(stack.Count - 1);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Unparseable files report their own position; no line lookup needed.
        }

        return 0;

        static bool Matches(List<string?> stack, string[] want)
        {
            // stack[0] is the root object (no name); stack[i] matches want[i - 1].
            for (int i = 1; i < stack.Count; i++)
            {
                if (stack[i] != want[i - 1])
                {
                    return false;
                }
            }

            return true;
        }

        static int LineOf(byte[] json, int index)
        {
            int line = 1;
            for (int i = 0; i < index && i < json.Length; i++)
            {
                if (json[i] == (byte)'\n')
                {
                    line++;
                }
            }

            return line;
        }
    }
}
