using System.Diagnostics;
using Fsm2.Edge.Observability;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fsm2.Edge.Config;

/// <summary>
/// Applies a config to a running runtime and keeps it in step with its file (50-runtime-monitoring §4): a
/// <see cref="FileSystemWatcher"/> on the file's directory plus a poll of length, modification time and content hash
/// (editors and Kubernetes ConfigMaps replace files by rename or symlink swap), debounced through the
/// <see cref="TimeProvider"/>. A valid change is handed to the runtime, which reconciles only what changed; an invalid
/// one is rejected and the last good config keeps running.
/// </summary>
/// <remarks>
/// Threading: file events and timers arm the debounce from any thread; reloads run one at a time (under a lock) on the
/// timer's thread, never on the tick thread; the runtime receives the result through its lock-free commands.
/// <see cref="Current"/>, <see cref="Generation"/> and <see cref="LastError"/> are safe to read from any thread.
/// </remarks>
[DebuggerDisplay("{File,nq} generation {Generation}")]
public sealed class ConfigWatcher : IDisposable
{
    /// <summary>Debounce after the last change: 500 ms (§4), long enough for an editor's write-rename-delete sequence.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(500);

    /// <summary>Fallback poll period: 2 s (§4).</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);

    private readonly ConfigLoadOptions _options;
    private readonly SupervisorRuntime _runtime;
    private readonly GroupChildrenTable _groups;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _debounce;
    private readonly TimeSpan _pollInterval;
    private readonly Lock _reloadLock = new();

    // Shared: written under _reloadLock, read by anyone.
    private volatile EdgeConfig _current;
    private volatile ConfigReloadError? _lastError;
    private volatile IReadOnlyList<string> _restartRequired = [];
    private long _generation;

    // Owner: _reloadLock. The content hash of the bytes last validated (accepted or not) and the poll's file stamp.
    private string _lastSeenHash;
    private (long Length, DateTime Modified) _lastStamp;

    // Shared: the debounce timer and watcher; created by Start, disposed by Dispose.
    private FileSystemWatcher? _watcher;
    private ITimer? _debounceTimer;
    private ITimer? _pollTimer;
    private int _changePending;
    private int _disposed;

    /// <summary>Creates a watcher over a config that has been loaded but not yet applied.</summary>
    /// <param name="initial">The config the runtime starts with.</param>
    /// <param name="options">The load options every reload uses (registry, profiles, command-line overrides).</param>
    /// <param name="runtime">The runtime to hand declarations to.</param>
    /// <param name="groups">The table the <c>group</c> worker resolves children from.</param>
    /// <param name="time">The clock for the debounce and the poll.</param>
    /// <param name="logger">Category <c>Fsm2.Edge.Config</c>; <see langword="null"/> logs nothing.</param>
    /// <param name="debounce">Debounce; <see langword="null"/> takes <see cref="DefaultDebounce"/>.</param>
    /// <param name="pollInterval">Poll period; <see langword="null"/> takes <see cref="DefaultPollInterval"/>.</param>
    public ConfigWatcher(
        EdgeConfig initial,
        ConfigLoadOptions options,
        SupervisorRuntime runtime,
        GroupChildrenTable groups,
        TimeProvider time,
        ILogger? logger = null,
        TimeSpan? debounce = null,
        TimeSpan? pollInterval = null)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(time);
        _current = initial;
        Started = initial;
        _options = options.Renderer is null ? options with { Renderer = runtime.Renderer } : options;
        _runtime = runtime;
        _groups = groups;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _debounce = debounce ?? DefaultDebounce;
        _pollInterval = pollInterval ?? DefaultPollInterval;
        _lastSeenHash = initial.ContentHash;
        _lastStamp = Stamp(initial.File);
    }

    /// <summary>Raised after every reload (applied, rejected or unchanged), on the reloading thread.</summary>
    public event Action<ConfigReloadOutcome>? Reloaded;

    /// <summary>The watched file.</summary>
    public string File => Started.File;

    /// <summary>The config the runtime started with (restart-only fields keep these values until a restart).</summary>
    public EdgeConfig Started { get; }

    /// <summary>The config currently applied.</summary>
    public EdgeConfig Current => _current;

    /// <summary>The applied generation: 1 after <see cref="ApplyInitial"/>, +1 per applied reload; 0 before.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>The last rejected reload, or <see langword="null"/> once a valid save applied (for the heartbeat's <c>config.lastError</c>).</summary>
    public ConfigReloadError? LastError => _lastError;

    /// <summary>Restart-only fields changed since start (for the heartbeat's <c>config.restartRequired</c>).</summary>
    public IReadOnlyList<string> RestartRequiredFields => _restartRequired;

    /// <summary>Whether a file change has been seen and its debounce has not fired yet.</summary>
    public bool ChangePending => Volatile.Read(ref _changePending) != 0;

    /// <summary>Hands the initial config to the runtime as generation 1 and logs <c>config_loaded</c>.</summary>
    public void ApplyInitial()
    {
        lock (_reloadLock)
        {
            if (Interlocked.Read(ref _generation) != 0)
            {
                return;
            }

            Apply(ConfigDeclaration.Build(_current, Started.Runtime.Broker), globalsChanged: true);
            Log.ConfigLoaded(_logger, File, 1, _current.NodeCount, _current.CanonicalHash);
            foreach (ConfigFinding warning in _current.Warnings)
            {
                Log.ConfigWarning(_logger, File, warning.ToString());
            }
        }
    }

    /// <summary>Starts watching the file (and the fallback poll).</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        string full = Path.GetFullPath(File);
        string directory = Path.GetDirectoryName(full) ?? ".";
        _debounceTimer = _time.CreateTimer(static s => ((ConfigWatcher)s!).OnDebounce(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pollTimer = _time.CreateTimer(static s => ((ConfigWatcher)s!).Poll(), this, _pollInterval, _pollInterval);
        try
        {
            var watcher = new FileSystemWatcher(directory, Path.GetFileName(full))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += OnFileEvent;
            watcher.Created += OnFileEvent;
            watcher.Renamed += OnFileEvent;
            watcher.Deleted += OnFileEvent;
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // inotify limits or an exotic file system: the poll still sees every change, 2 s later.
            Log.ConfigWatchFailed(_logger, File, ex.Message, ex);
        }
    }

    /// <summary>
    /// Validates the file now and applies it if valid and changed (what the debounce runs). Safe from any thread;
    /// reloads are serialized.
    /// </summary>
    /// <returns>What the reload did.</returns>
    public ConfigReloadOutcome ReloadNow()
    {
        ConfigReloadOutcome outcome;
        lock (_reloadLock)
        {
            outcome = Reload();
        }

        Reloaded?.Invoke(outcome);
        return outcome;
    }

    /// <summary>Stops watching. The applied config stays applied.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _watcher?.Dispose();
        _debounceTimer?.Dispose();
        _pollTimer?.Dispose();
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e) => ArmDebounce();

    private void ArmDebounce()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        Volatile.Write(ref _changePending, 1);
        _debounceTimer?.Change(_debounce, Timeout.InfiniteTimeSpan);
    }

    private void OnDebounce()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        Volatile.Write(ref _changePending, 0);
        try
        {
            ReloadNow();
        }
        catch (Exception ex) when (ex is not InvariantViolationException)
        {
            // A timer callback must not throw; the next change retries.
            Log.ConfigWatchFailed(_logger, File, ex.Message, ex);
        }
    }

    private void Poll()
    {
        (long Length, DateTime Modified) stamp = Stamp(File);
        bool changed;
        lock (_reloadLock)
        {
            changed = stamp != _lastStamp;
        }

        if (changed)
        {
            ArmDebounce();
        }
    }

    private static (long Length, DateTime Modified) Stamp(string file)
    {
        try
        {
            var info = new FileInfo(file);
            return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, default);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (-1, default);
        }
    }

    // Caller holds _reloadLock.
    private ConfigReloadOutcome Reload()
    {
        long started = _time.GetTimestamp();
        _lastStamp = Stamp(File);
        ConfigLoadResult result = ConfigLoader.LoadFile(File, _options);
        long generation = Interlocked.Read(ref _generation);
        if (!result.Succeeded)
        {
            string hash = "fnv1a64:" + HashFile();
            _lastSeenHash = hash;
            _lastError = new ConfigReloadError(hash, result.Findings);
            _runtime.Metrics.ConfigReloads.Add(1, new KeyValuePair<string, object?>("result", "rejected"));
            Log.ConfigReloadRejected(_logger, File, string.Join(" | ", result.Errors));
            return new ConfigReloadOutcome(ConfigReloadKind.Rejected, generation, result.Findings, _restartRequired, null);
        }

        EdgeConfig next = result.Config;
        EdgeConfig current = _current;
        if (next.ContentHash == _lastSeenHash && _lastError is null || next.CanonicalHash == current.CanonicalHash)
        {
            _lastSeenHash = next.ContentHash;
            _lastError = null;
            _runtime.Metrics.ConfigReloads.Add(1, new KeyValuePair<string, object?>("result", "unchanged"));
            Log.ConfigReloadUnchanged(_logger, File, next.CanonicalHash);
            return new ConfigReloadOutcome(ConfigReloadKind.Unchanged, generation, result.Findings, _restartRequired, null);
        }

        IReadOnlyList<string> restart = ConfigLoader.RestartOnlyChanges(Started, next);
        if (restart.Count > 0)
        {
            Log.ConfigRestartRequired(_logger, File, string.Join(",", restart));
        }

        foreach (ConfigFinding warning in next.Warnings)
        {
            Log.ConfigWarning(_logger, File, warning.ToString());
        }

        ConfigChangeCounts counts = Diff(current, next);
        bool globalsChanged = !Templating.VariableValue.StructurallyEqual(current.Global, next.Global);
        _current = next;
        _lastSeenHash = next.ContentHash;
        _lastError = null;
        _restartRequired = restart;
        // Probe targets resolve against the broker the runtime runs: runtime.broker is restart-only.
        Apply(ConfigDeclaration.Build(next, Started.Runtime.Broker), globalsChanged);
        generation = Interlocked.Read(ref _generation);
        _runtime.Metrics.ConfigReloads.Add(1, new KeyValuePair<string, object?>("result", "applied"));
        Log.ConfigReloadApplied(_logger, File, generation, counts.Added, counts.Updated, counts.Replaced, counts.Removed, counts.Unchanged, 0,
            _time.GetElapsedTime(started).TotalMilliseconds);

        var findings = new List<ConfigFinding>(result.Findings);
        foreach (string field in restart)
        {
            findings.Add(new ConfigFinding(File, 0, 0, FindingSeverity.Warning, ConfigCodes.RestartRequired, field, $"{field} changed; restart required"));
        }

        return new ConfigReloadOutcome(ConfigReloadKind.Applied, generation, findings, restart, counts);
    }

    // Caller holds _reloadLock.
    private void Apply(ConfigDeclaration declaration, bool globalsChanged)
    {
        _groups.Publish(declaration);
        if (globalsChanged)
        {
            _runtime.SetGlobals(declaration.Globals);
        }

        // The base location goes through the runtime's own merge: every node merges its levels over its parent's, the
        // top-level entries over this one; a change of runtime.location re-derives only the nodes whose location changed.
        _runtime.SetLocation(declaration.BaseLocation);
        _runtime.SetConfiguration(declaration.TopLevel);
        long generation = Interlocked.Increment(ref _generation);
        _runtime.Metrics.SetConfigGeneration(generation);
    }

    private string HashFile()
    {
        try
        {
            return ConfigReader.Fnv1a64(System.IO.File.ReadAllBytes(File));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "unreadable";
        }
    }

    /// <summary>Counts per node path of the file's entries (children code declares are not counted).</summary>
    private static ConfigChangeCounts Diff(EdgeConfig before, EdgeConfig after)
    {
        Dictionary<string, WorkerEntry> old = Flatten(before.Workers);
        Dictionary<string, WorkerEntry> now = Flatten(after.Workers);
        int added = 0, updated = 0, replaced = 0, unchanged = 0;
        foreach ((string path, WorkerEntry entry) in now)
        {
            if (!old.TryGetValue(path, out WorkerEntry? previous))
            {
                added++;
            }
            else if (previous.Type != entry.Type)
            {
                replaced++;
            }
            else if (OwnFieldsEqual(previous, entry))
            {
                unchanged++;
            }
            else
            {
                updated++;
            }
        }

        int removed = old.Keys.Count(path => !now.ContainsKey(path));
        return new ConfigChangeCounts(added, updated, replaced, removed, unchanged);

        static Dictionary<string, WorkerEntry> Flatten(IReadOnlyList<WorkerEntry> entries)
        {
            var map = new Dictionary<string, WorkerEntry>(StringComparer.Ordinal);
            Add(entries);
            return map;

            void Add(IReadOnlyList<WorkerEntry> list)
            {
                foreach (WorkerEntry entry in list)
                {
                    map[entry.Path] = entry;
                    Add(entry.Children);
                }
            }
        }

        static bool OwnFieldsEqual(WorkerEntry a, WorkerEntry b)
            => a.Config == b.Config
            && a.State == b.State
            && a.Location == b.Location
            && a.MergedLocation == b.MergedLocation
            && ChildSpec.MappingEquals(a.StateMapping, b.StateMapping)
            && Templating.VariableValue.StructurallyEqual(a.Variables, b.Variables)
            && ChildSpec.MappingEquals(a.Templates, b.Templates)
            && a.Probes.SequenceEqual(b.Probes, ProbeComparer.Instance);
    }

    private sealed class ProbeComparer : IEqualityComparer<ProbeEntry>
    {
        public static readonly ProbeComparer Instance = new();

        public bool Equals(ProbeEntry? x, ProbeEntry? y)
            => x is not null && y is not null && Strip(x) == Strip(y);

        public int GetHashCode(ProbeEntry obj) => Strip(obj).GetHashCode();

        private static ProbeEntry Strip(ProbeEntry entry) => entry with { Line = 0, IdLine = 0, IdColumn = 0 };
    }
}
