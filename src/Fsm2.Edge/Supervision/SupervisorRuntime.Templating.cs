using Fsm2.Edge.Observability;
using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorRuntime
{
    // Shared: one renderer (and parse cache) per runtime; thread-safe, used by the tick, loaders and data paths.
    private readonly LiquidRenderer _renderer = new();

    // Commands from other threads; only the latest value counts. A box, so "clear the fleet layer" (null) and
    // "nothing pending" stay distinct.
    private FleetLayer? _pendingFleet;
    private LocationCommand? _pendingLocation;

    // Owner: tick thread. The two Global layers (§1.7) and the base location of the tree (runtime.location).
    private IReadOnlyDictionary<string, object?> _configGlobals = VariableValue.NormalizeMap(null);
    private IReadOnlyDictionary<string, object?>? _fleetGlobals;
    private string _fleetVersion = "";
    private IsaLocation _baseLocation = IsaLocation.None;
    private long _baseLocationVersion;

    /// <summary>
    /// The runtime's Liquid renderer and parse cache. Worker code renders extra templates with it (or with
    /// <see cref="Workers.UserSpec.Render"/>); safe from any thread.
    /// </summary>
    public LiquidRenderer Renderer => _renderer;

    /// <summary>
    /// Sets the base ISA-95 location of the whole tree (config <c>runtime.location</c>); applied at the start of the
    /// next tick. Every node merges its own levels over it. <see langword="null"/> means no base location.
    /// </summary>
    /// <param name="location">The location.</param>
    /// <exception cref="TemplateException">
    /// Kind Location: a level value is invalid (<c>FSM2CFG021</c>), or levels are set without an enterprise (<c>FSM2CFG022</c>).
    /// </exception>
    public void SetLocation(IsaLocation? location)
    {
        if (location is not null)
        {
            foreach (string? value in (ReadOnlySpan<string?>)[location.Enterprise, location.Site, location.Area, location.Line, location.Cell])
            {
                if (value is { Length: > 0 } && IsaLocation.CheckValue(value) is { } problem)
                {
                    throw new TemplateException(TemplateErrorKind.Location, "location: " + problem, null, "FSM2CFG021");
                }
            }

            // The base is every node's parent location: without an enterprise the whole tree would fail to derive.
            if (!location.IsEmpty && string.IsNullOrEmpty(location.Enterprise))
            {
                throw new TemplateException(TemplateErrorKind.Location, "location: runtime location has no 'enterprise'", null, "FSM2CFG022");
            }
        }

        Volatile.Write(ref _pendingLocation, new LocationCommand(location ?? IsaLocation.None));
    }

    /// <summary>
    /// Replaces the fleet layer of the Global variables (the <c>variables</c> of the retained fleet topic); applied at
    /// the start of the next tick. Effective Global = the config <c>global:</c> deep-merged with this layer, the fleet
    /// winning per leaf. <see langword="null"/> or empty clears the layer (the config values remain).
    /// </summary>
    /// <param name="variables">The fleet variables.</param>
    /// <exception cref="VariableValueException">A value cannot be normalised.</exception>
    public void SetFleetGlobals(IReadOnlyDictionary<string, object?>? variables)
        => Volatile.Write(ref _pendingFleet, new FleetLayer(variables is null || variables.Count == 0 ? null : VariableValue.NormalizeMap(variables, "global"), ""));

    /// <summary>
    /// Applies a fleet topic payload (50-runtime-monitoring §6.6) from any thread: parsed and normalised here, then
    /// handed to the tick thread. A zero-length payload clears the fleet layer. An invalid payload is rejected as a
    /// whole: <c>global_update_rejected</c> is logged, <c>fsm2_global_updates_total{result="rejected"}</c> counts it,
    /// and the previous effective Global stays.
    /// </summary>
    /// <param name="payload">The raw retained message.</param>
    /// <returns><see langword="true"/> when accepted, <see langword="false"/> when rejected.</returns>
    public bool ApplyFleetPayload(ReadOnlySpan<byte> payload)
    {
        IReadOnlyDictionary<string, object?>? layer;
        string version;
        try
        {
            layer = GlobalVariables.ParseFleetPayload(payload, out version);
        }
        catch (VariableValueException ex)
        {
            Log.GlobalUpdateRejected(_loggers.Runtime, "mqtt", ex.Message);
            Metrics.RecordGlobalUpdate("mqtt", "rejected");
            return false;
        }

        Volatile.Write(ref _pendingFleet, new FleetLayer(layer, version));
        return true;
    }

    internal IsaLocation BaseLocation => _baseLocation;

    internal long BaseLocationVersion => _baseLocationVersion;

    /// <summary>Tick thread, start of the tick: swaps in the latest Global layers and base location.</summary>
    /// <remarks>The Global version moves only when the effective Global differs structurally (§1.9 rule 1).</remarks>
    private void ApplyVariableCommands()
    {
        IReadOnlyDictionary<string, object?>? config = Interlocked.Exchange(ref _pendingGlobals, null);
        FleetLayer? fleet = Interlocked.Exchange(ref _pendingFleet, null);
        if (config is not null || fleet is not null)
        {
            string source = fleet is not null ? "mqtt" : "file";
            if (config is not null)
            {
                _configGlobals = config;
            }

            if (fleet is not null)
            {
                _fleetGlobals = fleet.Variables;
                _fleetVersion = fleet.Version;
            }

            IReadOnlyDictionary<string, object?> effective = GlobalVariables.Merge(_configGlobals, _fleetGlobals);
            if (!VariableValue.StructurallyEqual(effective, _globals))
            {
                Log.GlobalVariablesUpdated(_loggers.Runtime, source, _fleetVersion, ChangedKeys(_globals, effective));
                Metrics.RecordGlobalUpdate(source, "applied");
                _globals = effective;
                _globalsVersion++;
            }
        }

        LocationCommand? location = Interlocked.Exchange(ref _pendingLocation, null);
        if (location is not null && !location.Location.Equals(_baseLocation))
        {
            _baseLocation = location.Location;
            _baseLocationVersion++;
        }
    }

    private static string ChangedKeys(IReadOnlyDictionary<string, object?> before, IReadOnlyDictionary<string, object?> after)
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> pair in after)
        {
            if (!before.TryGetValue(pair.Key, out object? old) || !VariableValue.StructurallyEqual(old, pair.Value))
            {
                keys.Add(pair.Key);
            }
        }

        foreach (string key in before.Keys)
        {
            if (!after.ContainsKey(key))
            {
                keys.Add(key);
            }
        }

        return string.Join(",", keys);
    }

    private sealed record FleetLayer(IReadOnlyDictionary<string, object?>? Variables, string Version);

    private sealed record LocationCommand(IsaLocation Location);
}
