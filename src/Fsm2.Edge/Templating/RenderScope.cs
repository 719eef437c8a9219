namespace Fsm2.Edge.Templating;

/// <summary>
/// The immutable set of top-level names a template sees (20-templating §1.4): the User entries minus the reserved
/// names, <c>global</c> (always present, <c>{}</c> when empty), <c>internal</c> (always present), <c>location</c>
/// (<c>{}</c> without a location) and <c>location_path</c> (<c>""</c> without a location).
/// </summary>
/// <remarks>
/// Thread safety: immutable, so a worker may keep the scope of its latest derive and render named templates with it
/// on any thread (per message, with <see cref="With"/> for per-message names). The runtime rebuilds a node's scope
/// only when its User, Global or location changed (§1.9), never per tick.
/// </remarks>
public sealed class RenderScope
{
    /// <summary>User keys that would shadow a runtime name; the runtime value always wins (§1.5).</summary>
    public static IReadOnlyList<string> ReservedNames { get; } = ["global", "internal", "location", "location_path"];

    private static readonly DateTimeOffset s_epoch = DateTimeOffset.UnixEpoch;

    private readonly Dictionary<string, object?> _root;

    private RenderScope(Dictionary<string, object?> root, DateTimeOffset createdAt, IsaLocation location, IReadOnlyList<string> skipped)
    {
        _root = root;
        CreatedAt = createdAt;
        Location = location;
        SkippedReservedKeys = skipped;
        Now = () => createdAt; // Fluid's date helper calls Now for every date input: pinned, never the clock (§2.5).
    }

    /// <summary>An empty scope: no User names, empty Global and Internal, no location.</summary>
    public static RenderScope Empty { get; } = Create(null, null, null, null);

    /// <summary>The effective location of the scope (<see cref="IsaLocation.None"/> without one).</summary>
    public IsaLocation Location { get; }

    /// <summary>The <c>location_path</c> value (<c>""</c> without a location).</summary>
    public string LocationPath => (string)_root["location_path"]!; // always set by Create.

    /// <summary><c>internal.created_at</c>; what the <c>'now'</c> and <c>'today'</c> date inputs resolve to.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>Reserved User keys that <see cref="Create"/> skipped (for the <c>template_reserved_variable</c> warning).</summary>
    public IReadOnlyList<string> SkippedReservedKeys { get; }

    /// <summary>The top-level names, ordinal.</summary>
    public IReadOnlyCollection<string> Names => _root.Keys;

    internal Func<DateTimeOffset> Now { get; }

    internal IReadOnlyDictionary<string, object?> Root => _root;

    /// <summary>
    /// Builds a scope from normalised maps. <paramref name="user"/> entries named <c>global</c>, <c>internal</c>,
    /// <c>location</c> or <c>location_path</c> are skipped (listed in <see cref="SkippedReservedKeys"/>).
    /// </summary>
    /// <param name="user">The effective User variables (normalised; see <see cref="VariableValue.NormalizeMap"/>).</param>
    /// <param name="global">The runtime Global variables; <see langword="null"/> is <c>{}</c>.</param>
    /// <param name="internalVariables">Internal variables (<c>id</c>, <c>parent_id</c>, <c>created_at</c>); <see langword="null"/> is <c>{}</c>.</param>
    /// <param name="location">The effective location; <see langword="null"/> means none.</param>
    /// <returns>The scope.</returns>
    /// <exception cref="VariableValueException">A value cannot be normalised.</exception>
    public static RenderScope Create(
        IReadOnlyDictionary<string, object?>? user,
        IReadOnlyDictionary<string, object?>? global,
        IReadOnlyDictionary<string, object?>? internalVariables,
        IsaLocation? location)
    {
        IReadOnlyDictionary<string, object?> userMap = VariableValue.NormalizeMap(user);
        var root = new Dictionary<string, object?>(userMap.Count + 4, StringComparer.Ordinal);
        List<string>? skipped = null;
        foreach (KeyValuePair<string, object?> pair in userMap)
        {
            if (IsReserved(pair.Key))
            {
                (skipped ??= []).Add(pair.Key);
                continue;
            }

            root[pair.Key] = pair.Value;
        }

        IReadOnlyDictionary<string, object?> internalMap = VariableValue.NormalizeMap(internalVariables, "internal");
        IsaLocation effective = location ?? IsaLocation.None;
        root["global"] = VariableValue.NormalizeMap(global, "global");
        root["internal"] = internalMap;
        root["location"] = effective.ToTemplateMap();
        root["location_path"] = effective.Path;
        DateTimeOffset createdAt = internalMap.TryGetValue("created_at", out object? created) && created is DateTimeOffset at ? at : s_epoch;
        return new RenderScope(root, createdAt, effective, skipped is null ? [] : skipped);
    }

    /// <summary>
    /// A scope over <paramref name="names"/> exactly as given: no normalisation and no runtime names. The renderer
    /// applies the value mapping to whatever reaches it, so an unsupported value is a Render error (tests, tools).
    /// </summary>
    internal static RenderScope CreateUnchecked(IReadOnlyDictionary<string, object?> names)
    {
        var root = new Dictionary<string, object?>(names, StringComparer.Ordinal);
        root.TryAdd("location_path", "");
        return new RenderScope(root, s_epoch, IsaLocation.None, []);
    }

    /// <summary>Whether <paramref name="key"/> is one of the reserved top-level names.</summary>
    /// <param name="key">A User key.</param>
    /// <returns><see langword="true"/> for <c>global</c>, <c>internal</c>, <c>location</c> and <c>location_path</c>.</returns>
    public static bool IsReserved(string key) => key is "global" or "internal" or "location" or "location_path";

    /// <summary>
    /// A derived scope in which the <paramref name="extra"/> names shadow User names of the same name (per-message
    /// variables of named templates). Reserved names in <paramref name="extra"/> are ignored: <c>global</c>,
    /// <c>internal</c>, <c>location</c> and <c>location_path</c> always stay the runtime's.
    /// </summary>
    /// <param name="extra">The extra names; values are normalised.</param>
    /// <returns>A new scope; this one is unchanged.</returns>
    /// <exception cref="VariableValueException">A value cannot be normalised.</exception>
    public RenderScope With(IReadOnlyDictionary<string, object?> extra)
    {
        ArgumentNullException.ThrowIfNull(extra);
        if (extra.Count == 0)
        {
            return this;
        }

        var root = new Dictionary<string, object?>(_root, StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> pair in extra)
        {
            if (!IsReserved(pair.Key))
            {
                root[pair.Key] = VariableValue.Normalize(pair.Value, pair.Key);
            }
        }

        return new RenderScope(root, CreatedAt, Location, SkippedReservedKeys);
    }

    /// <summary>Looks up a top-level name.</summary>
    /// <param name="name">The name (ordinal).</param>
    /// <param name="value">The value.</param>
    /// <returns><see langword="true"/> when the name is in scope.</returns>
    public bool TryGetValue(string name, out object? value) => _root.TryGetValue(name, out value);
}
