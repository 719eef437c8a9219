using System.Collections;
using System.Collections.ObjectModel;

namespace Fsm2.Edge.Workers;

/// <summary>
/// The three read-only variable namespaces handed to derive: <see cref="User"/> (top level in templates),
/// <see cref="Global"/> (<c>global.*</c>, the runtime's, identical across the tree) and <see cref="Internal"/>
/// (<c>internal.*</c>, never serialized).
/// </summary>
/// <remarks>
/// The maps are deep copies made at construction and exposed as read-only views: a state or worker that casts them to
/// a mutable interface gets <see cref="NotSupportedException"/> and cannot change what the node holds. Nested values
/// may be maps (<see cref="IReadOnlyDictionary{TKey, TValue}"/> or <see cref="IDictionary"/>), lists and primitives.
/// </remarks>
public sealed class VariableBundle
{
    private static readonly ReadOnlyDictionary<string, object?> s_emptyMap = new(new Dictionary<string, object?>(StringComparer.Ordinal));

    /// <summary>A bundle with three empty maps.</summary>
    public static VariableBundle Empty { get; } = new(null, null, null);

    /// <summary>Creates a bundle from deep copies of the given maps; <see langword="null"/> maps become empty.</summary>
    /// <param name="user">User variables.</param>
    /// <param name="global">Global variables.</param>
    /// <param name="internalVariables">Internal variables.</param>
    public VariableBundle(
        IReadOnlyDictionary<string, object?>? user,
        IReadOnlyDictionary<string, object?>? global = null,
        IReadOnlyDictionary<string, object?>? internalVariables = null)
    {
        User = Freeze(user);
        Global = Freeze(global);
        Internal = Freeze(internalVariables);
    }

    /// <summary>User variables; top level in templates.</summary>
    public IReadOnlyDictionary<string, object?> User { get; }

    /// <summary>The runtime's global variables (<c>global.*</c>).</summary>
    public IReadOnlyDictionary<string, object?> Global { get; }

    /// <summary>Runtime-injected variables (<c>internal.*</c>): at least <c>id</c>, <c>parent_id</c>, <c>created_at</c>.</summary>
    public IReadOnlyDictionary<string, object?> Internal { get; }

    /// <summary>
    /// Structural equality of <see cref="User"/> and <see cref="Global"/> (ordinal keys, deep values).
    /// <see cref="Internal"/> never takes part.
    /// </summary>
    /// <param name="other">The bundle to compare with.</param>
    /// <returns><see langword="true"/> when both bundles carry the same User and Global variables.</returns>
    public bool StructurallyEquals(VariableBundle? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        return other is not null && ValueEquals(User, other.User) && ValueEquals(Global, other.Global);
    }

    /// <summary>Overlays <paramref name="child"/> on <paramref name="parent"/> (child wins) into a new read-only map.</summary>
    internal static IReadOnlyDictionary<string, object?> Overlay(IReadOnlyDictionary<string, object?> parent, IReadOnlyDictionary<string, object?> child)
    {
        if (child.Count == 0)
        {
            return parent;
        }

        if (parent.Count == 0)
        {
            return child;
        }

        var merged = new Dictionary<string, object?>(parent.Count + child.Count, StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> pair in parent)
        {
            merged[pair.Key] = pair.Value;
        }

        foreach (KeyValuePair<string, object?> pair in child)
        {
            merged[pair.Key] = pair.Value;
        }

        return new ReadOnlyDictionary<string, object?>(merged);
    }

    internal static ReadOnlyDictionary<string, object?> Freeze(IReadOnlyDictionary<string, object?>? source)
    {
        if (source is null || source.Count == 0)
        {
            return s_emptyMap;
        }

        if (source is ReadOnlyDictionary<string, object?> frozen && IsDeepFrozen(frozen))
        {
            return frozen;
        }

        var copy = new Dictionary<string, object?>(source.Count, StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> pair in source)
        {
            copy[pair.Key] = FreezeValue(pair.Value);
        }

        return new ReadOnlyDictionary<string, object?>(copy);
    }

    private static bool IsDeepFrozen(ReadOnlyDictionary<string, object?> map)
    {
        foreach (KeyValuePair<string, object?> pair in map)
        {
            if (pair.Value is not null && pair.Value is not string && pair.Value is not ReadOnlyDictionary<string, object?>
                && pair.Value is not ReadOnlyCollection<object?> && (pair.Value is IEnumerable))
            {
                return false;
            }
        }

        return true;
    }

    private static object? FreezeValue(object? value)
    {
        switch (value)
        {
            case null:
            case string:
                return value;
            case IReadOnlyDictionary<string, object?> map:
                return Freeze(map);
            case IDictionary dictionary:
                var copy = new Dictionary<string, object?>(dictionary.Count, StringComparer.Ordinal);
                foreach (DictionaryEntry entry in dictionary)
                {
                    copy[Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? ""] = FreezeValue(entry.Value);
                }

                return new ReadOnlyDictionary<string, object?>(copy);
            case IEnumerable list:
                var items = new List<object?>();
                foreach (object? item in list)
                {
                    items.Add(FreezeValue(item));
                }

                return new ReadOnlyCollection<object?>(items);
            default:
                return value;
        }
    }

    /// <summary>Deep, ordinal comparison of two variable values.</summary>
    internal static bool ValueEquals(object? a, object? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null)
        {
            return false;
        }

        if (a is string sa)
        {
            return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
        }

        if (a is IReadOnlyDictionary<string, object?> ma)
        {
            if (b is not IReadOnlyDictionary<string, object?> mb || ma.Count != mb.Count)
            {
                return false;
            }

            foreach (KeyValuePair<string, object?> pair in ma)
            {
                if (!mb.TryGetValue(pair.Key, out object? other) || !ValueEquals(pair.Value, other))
                {
                    return false;
                }
            }

            return true;
        }

        if (a is IReadOnlyList<object?> la)
        {
            if (b is not IReadOnlyList<object?> lb || la.Count != lb.Count)
            {
                return false;
            }

            for (int i = 0; i < la.Count; i++)
            {
                if (!ValueEquals(la[i], lb[i]))
                {
                    return false;
                }
            }

            return true;
        }

        return a.Equals(b);
    }
}
