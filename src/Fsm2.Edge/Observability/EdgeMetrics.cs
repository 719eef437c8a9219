using System.Diagnostics.Metrics;

namespace Fsm2.Edge.Observability;

/// <summary>
/// The runtime's instruments (<c>fsm2_*</c>, System.Diagnostics.Metrics). With no listener attached, recording is a
/// cheap no-op that allocates nothing; tags are string constants, so nothing is boxed either.
/// </summary>
internal sealed partial class EdgeMetrics : IDisposable
{
    /// <summary>The meter name listeners subscribe to.</summary>
    public const string MeterName = "Fsm2.Edge";

    private readonly Meter _meter;

    public EdgeMetrics(IMeterFactory? meterFactory)
    {
        // The meter carries a per-runtime tag, so an exporter can tell this runtime's meter from those of other runtimes
        // in the same process (SupervisorRuntime.MeterRuntimeTag); name and scope stay as listeners expect them.
        var options = new MeterOptions(MeterName) { Tags = [new KeyValuePair<string, object?>(RuntimeTagKey, RuntimeTag)] };
        _meter = meterFactory?.Create(options) ?? new Meter(options);
        Ticks = _meter.CreateObservableCounter("fsm2_tick_total", () => Volatile.Read(ref _ticks), description: "Ticks run.");
        TickOverruns = _meter.CreateCounter<long>("fsm2_tick_overrun_total", description: "Ticks that started late because the previous one overran.");
        TickDuration = _meter.CreateHistogram<double>("fsm2_tick_duration_seconds", "s", "Duration of one whole-tree tick.");
        Derives = _meter.CreateCounter<long>("fsm2_derive_total", description: "Derive invocations by result.");
        StateTransitions = _meter.CreateCounter<long>("fsm2_state_transitions_total", description: "FSM state transitions.");
        StalePauses = _meter.CreateCounter<long>("fsm2_stale_pauses_total", description: "Times a worker was paused on stale data.");
        Observations = _meter.CreateCounter<long>("fsm2_observations_total", description: "Collections by result.");
        CollectionDuration = _meter.CreateHistogram<double>("fsm2_collection_duration_seconds", "s", "Duration of one collection.");
        CollectionsAbandoned = _meter.CreateCounter<long>("fsm2_collections_abandoned_total", description: "Collections that ignored cancellation.");
        CollectorRestarts = _meter.CreateCounter<long>("fsm2_collector_restarts_total", description: "Collector restarts.");
        CollectorEscalations = _meter.CreateCounter<long>("fsm2_collector_escalations_total", description: "Collector escalations to shutdown.");
        Panics = _meter.CreateCounter<long>("fsm2_panics_total", description: "Exceptions contained from worker code.");
        ReconcileOperations = _meter.CreateCounter<long>("fsm2_reconcile_operations_total", description: "Child add/update/replace/remove operations.");
        ChildCreateFailures = _meter.CreateCounter<long>("fsm2_child_create_failures_total", description: "Failed child creations by reason.");
        ChildRemovalDuration = _meter.CreateHistogram<double>("fsm2_child_removal_duration_seconds", "s", "Time from removal start to finalization.");
        NodeRestarts = _meter.CreateCounter<long>("fsm2_node_restarts_total", description: "Nodes re-created by signal.");
        ActionsQueued = _meter.CreateCounter<long>("fsm2_action_queued_total", description: "Actions handed to the executor.");
        ActionQueueFull = _meter.CreateCounter<long>("fsm2_action_queue_full_total", description: "Actions not enqueued because the queue was full.");
        ActionDuration = _meter.CreateHistogram<double>("fsm2_action_duration_seconds", "s", "Action execution time by outcome.");
        ActionTimeouts = _meter.CreateCounter<long>("fsm2_action_timeouts_total", description: "Actions that hit their timeout.");
        ActionCancelled = _meter.CreateCounter<long>("fsm2_action_cancelled_total", description: "Actions cancelled for removal or shutdown.");
        ActionLateCompletions = _meter.CreateCounter<long>("fsm2_action_late_completions_total", description: "Completions discarded by generation.");
        ActionEnvelopesExhausted = _meter.CreateCounter<long>("fsm2_action_envelopes_exhausted_total", description: "Enqueues refused for lack of an envelope.");
        ActionShutdownAbandoned = _meter.CreateCounter<long>("fsm2_action_shutdown_abandoned_total", description: "Actions still running after the executor's shutdown wait.");
        ActionQueueWait = _meter.CreateHistogram<double>("fsm2_action_queue_wait_seconds", "s", "Time from enqueue to the start of execution.");
        CreateConfigInstruments();
        CreateMonitoringInstruments();

        // Tick-thread counts are plain fields exported through observable instruments (40-actions §16): the tick only
        // increments a long, and a listener reads it on its own collection schedule.
        _meter.CreateObservableCounter("fsm2_action_duplicates_suppressed_total", () => Volatile.Read(ref _duplicatesSuppressed), description: "Actions not enqueued because the worker already had one in flight.");
        _meter.CreateObservableCounter("fsm2_action_backoff_deferred_total", () => Volatile.Read(ref _backoffDeferred), description: "Actions not enqueued because the worker was in its failure backoff.");
        ActionStuck = _meter.CreateCounter<long>("fsm2_action_stuck_total", description: "Actions still running at twice their timeout.");
        ActionAbandoned = _meter.CreateCounter<long>("fsm2_action_abandoned_total", description: "Actions given up on at three times their timeout.");
        TemplateRenders = _meter.CreateCounter<long>("fsm2_template_renders_total", description: "Config template renders by worker type and result.");
        TemplateRenderDuration = _meter.CreateHistogram<double>("fsm2_template_render_duration_seconds", "s", "Duration of one config template render.");
        TemplateCacheEntries = _meter.CreateObservableGauge("fsm2_template_cache_entries", () => Volatile.Read(ref _renderer)?.CacheCount ?? 0, description: "Parsed templates cached.");
        GlobalUpdates = _meter.CreateCounter<long>("fsm2_global_updates_total", description: "Global variable changes by source and result.");

        // The executor's gauges read its shared counters on the listener's schedule; before an executor is attached
        // (or for an executor without them) they read 0.
        ActionQueueDepth = _meter.CreateObservableGauge("fsm2_action_queue_depth", () => Volatile.Read(ref _executor)?.QueueDepth ?? 0, description: "Actions queued and not yet taken by an action thread.");
        ActionInFlight = _meter.CreateObservableGauge("fsm2_action_inflight", () => (int)Volatile.Read(ref _actionsInFlight), description: "Workers with an action queued or running.");
        ActionThreadsBusy = _meter.CreateObservableGauge("fsm2_action_threads_busy", () => Volatile.Read(ref _executor)?.BusyThreads ?? 0, description: "Action threads executing an action.");
        ActionThreadsLeaked = _meter.CreateObservableGauge("fsm2_action_threads_leaked", () => Volatile.Read(ref _executor)?.LeakedThreads ?? 0, description: "Action threads captured by abandoned actions that block synchronously.");
        BreakerStateGauge = _meter.CreateObservableGauge("fsm2_breaker_state", ObserveBreakerStates, description: "Infrastructure breaker state per node: 0 Closed, 1 Open, 2 HalfOpen.");
        BreakerOpened = _meter.CreateCounter<long>("fsm2_breaker_opened_total", description: "Infrastructure breakers that went from Closed to Open.");
        BreakerTrials = _meter.CreateCounter<long>("fsm2_breaker_trials_total", description: "Breaker trials by result.");
        BreakerRecoveries = _meter.CreateCounter<long>("fsm2_breaker_recoveries_total", description: "Breakers that closed after a healthy trial.");
        BreakerOpenSeconds = _meter.CreateHistogram<double>("fsm2_breaker_open_seconds", "s", "Time from opening to closing of a breaker.");
        BreakerEscalations = _meter.CreateCounter<long>("fsm2_breaker_escalations_total", description: "Breaker episodes that reached escalation_imminent.");
        ChildRestarts = _meter.CreateCounter<long>("fsm2_child_restarts_total", description: "Children restarted by their parent's breaker.");
        PanicBreakerOpened = _meter.CreateCounter<long>("fsm2_panic_breaker_opened_total", description: "Panic breaker openings.");
        ProbeRoundTrip = _meter.CreateHistogram<double>("fsm2_probe_rtt_seconds", "s", "Round trip or connect time of successful probe runs.");
        ProbeResults = _meter.CreateCounter<long>("fsm2_probe_results_total", description: "Probe runs by outcome.");
        ProbeHealthyGauge = _meter.CreateObservableGauge("fsm2_probe_healthy", ObserveProbeHealth, description: "Probe verdict: 1 healthy, 0 unhealthy.");
    }

    // Set once by the executor's constructor; read by the gauge callbacks on any thread.
    private Execution.IActionExecutor? _executor;

    // Owner: tick thread (writes); the inflight gauge reads it from any thread.
    private long _actionsInFlight;

    /// <summary>Executor constructor: the source of the queue-depth and thread gauges.</summary>
    public void AttachExecutor(Execution.IActionExecutor executor) => Volatile.Write(ref _executor, executor);

    /// <summary>Workers with an action queued or running, as the tick counts them.</summary>
    public long ActionsInFlight => Volatile.Read(ref _actionsInFlight);

    /// <summary>Tick thread: a worker's in-flight mark was set (+1) or cleared (−1).</summary>
    public void AdjustInFlight(int delta) => Volatile.Write(ref _actionsInFlight, _actionsInFlight + delta);

    // Owner: tick thread (writes); observable callbacks read them from any thread.
    private long _duplicatesSuppressed;
    private long _backoffDeferred;

    /// <summary><c>Duplicate</c> enqueue results (tick thread increments).</summary>
    public long DuplicatesSuppressed => Volatile.Read(ref _duplicatesSuppressed);

    /// <summary><c>BackoffDeferred</c> enqueue results (tick thread increments).</summary>
    public long BackoffDeferred => Volatile.Read(ref _backoffDeferred);

    /// <summary>Tick thread: one <c>Duplicate</c>.</summary>
    public void CountDuplicate() => Volatile.Write(ref _duplicatesSuppressed, _duplicatesSuppressed + 1);

    /// <summary>Tick thread: one <c>BackoffDeferred</c>.</summary>
    public void CountBackoffDeferred() => Volatile.Write(ref _backoffDeferred, _backoffDeferred + 1);

    /// <summary><c>fsm2_tick_total</c>: reads the tick thread's plain counter (<see cref="CountTick"/>).</summary>
    public ObservableCounter<long> Ticks { get; }

    public Counter<long> TickOverruns { get; }

    public Histogram<double> TickDuration { get; }

    public Counter<long> Derives { get; }

    public Counter<long> StateTransitions { get; }

    public Counter<long> StalePauses { get; }

    public Counter<long> Observations { get; }

    public Histogram<double> CollectionDuration { get; }

    public Counter<long> CollectionsAbandoned { get; }

    public Counter<long> CollectorRestarts { get; }

    public Counter<long> CollectorEscalations { get; }

    public Counter<long> Panics { get; }

    public Counter<long> ReconcileOperations { get; }

    public Counter<long> ChildCreateFailures { get; }

    public Histogram<double> ChildRemovalDuration { get; }

    public Counter<long> NodeRestarts { get; }

    public Counter<long> ActionsQueued { get; }

    public Counter<long> ActionQueueFull { get; }

    public Histogram<double> ActionDuration { get; }

    public Counter<long> ActionTimeouts { get; }

    public Counter<long> ActionCancelled { get; }

    public Counter<long> ActionLateCompletions { get; }

    public Counter<long> ActionEnvelopesExhausted { get; }

    public Counter<long> ActionShutdownAbandoned { get; }

    public Histogram<double> ActionQueueWait { get; }

    public Counter<long> ActionStuck { get; }

    public Counter<long> ActionAbandoned { get; }

    public ObservableGauge<int> ActionQueueDepth { get; }

    public ObservableGauge<int> ActionInFlight { get; }

    public ObservableGauge<int> ActionThreadsBusy { get; }

    public ObservableGauge<int> ActionThreadsLeaked { get; }

    public void RecordObservation(string result) => Observations.Add(1, new KeyValuePair<string, object?>("result", result));

    public void RecordDerive(string node, string result)
        => Derives.Add(1, new KeyValuePair<string, object?>("node", node), new KeyValuePair<string, object?>("result", result));

    public void RecordReconcile(string operation) => ReconcileOperations.Add(1, new KeyValuePair<string, object?>("operation", operation));

    /// <summary>The key of the meter tag that identifies a runtime's meter.</summary>
    public const string RuntimeTagKey = "fsm2.runtime";

    /// <summary>This runtime's value of the <see cref="RuntimeTagKey"/> meter tag (unique per instance).</summary>
    public string RuntimeTag { get; } = Guid.NewGuid().ToString("N");

    public void Dispose() => _meter.Dispose();
}
