using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Fsm2.Edge.Workers;

/// <summary>
/// The immutable view of a parent's active children handed to its <c>Next</c>, in spec order. Observations, health,
/// errors and node references are deliberately not exposed: infrastructure conditions never become business states.
/// </summary>
/// <remarks>
/// The view also implements <see cref="IList{T}"/> (as <see cref="System.Collections.ObjectModel.ReadOnlyCollection{T}"/>
/// does) so that a state which casts it to a mutable interface gets <see cref="NotSupportedException"/> from every
/// mutating member instead of reaching the node's data (§2.6).
/// </remarks>
public sealed class ChildrenView : IReadOnlyList<ChildInfo>, IList<ChildInfo>
{
    private readonly ChildInfo[] _children;
    private readonly Dictionary<string, int>? _index;

    /// <summary>The view of a node without children.</summary>
    public static ChildrenView Empty { get; } = new([]);

    internal ChildrenView(ChildInfo[] children)
    {
        _children = children;
        if (children.Length > 8)
        {
            // PERF: small views are scanned; large ones get an ordinal index built once per view.
            _index = new Dictionary<string, int>(children.Length, StringComparer.Ordinal);
            for (int i = 0; i < children.Length; i++)
            {
                _index[children[i].Name] = i;
            }
        }
    }

    /// <summary>The number of active children.</summary>
    public int Count => _children.Length;

    /// <summary>The child at <paramref name="index"/> in spec order.</summary>
    /// <param name="index">Zero-based position.</param>
    public ChildInfo this[int index] => _children[index];

    /// <summary>Looks up an active child by name.</summary>
    /// <param name="name">The child's name (ordinal).</param>
    /// <param name="info">The child's info when found.</param>
    /// <returns><see langword="true"/> when an active child has that name.</returns>
    public bool TryGet(string name, [MaybeNullWhen(false)] out ChildInfo info)
    {
        int i = IndexOf(name);
        if (i < 0)
        {
            info = default;
            return false;
        }

        info = _children[i];
        return true;
    }

    /// <summary>
    /// The child's current state name, or <c>""</c> for a name that is unknown, removing, deferred or whose creation
    /// failed. Never throws.
    /// </summary>
    /// <param name="name">The child's name (ordinal).</param>
    /// <returns>The state name or <c>""</c>.</returns>
    public string GetState(string name) => IndexOf(name) is int i and >= 0 ? _children[i].State : "";

    /// <summary>Enumerates the children in spec order.</summary>
    /// <returns>An enumerator over the children.</returns>
    public IEnumerator<ChildInfo> GetEnumerator() => ((IEnumerable<ChildInfo>)_children).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    bool ICollection<ChildInfo>.IsReadOnly => true;

    ChildInfo IList<ChildInfo>.this[int index]
    {
        get => _children[index];
        set => ThrowReadOnly();
    }

    int IList<ChildInfo>.IndexOf(ChildInfo item) => Array.IndexOf(_children, item);

    bool ICollection<ChildInfo>.Contains(ChildInfo item) => Array.IndexOf(_children, item) >= 0;

    void ICollection<ChildInfo>.CopyTo(ChildInfo[] array, int arrayIndex) => _children.CopyTo(array, arrayIndex);

    void ICollection<ChildInfo>.Add(ChildInfo item) => ThrowReadOnly();

    void ICollection<ChildInfo>.Clear() => ThrowReadOnly();

    void IList<ChildInfo>.Insert(int index, ChildInfo item) => ThrowReadOnly();

    bool ICollection<ChildInfo>.Remove(ChildInfo item) => ThrowReadOnly<bool>();

    void IList<ChildInfo>.RemoveAt(int index) => ThrowReadOnly();

    [DoesNotReturn]
    private static void ThrowReadOnly() => throw new NotSupportedException("the children view is read-only");

    [DoesNotReturn]
    private static T ThrowReadOnly<T>() => throw new NotSupportedException("the children view is read-only");

    internal bool Matches(ReadOnlySpan<ChildInfo> current)
    {
        if (current.Length != _children.Length)
        {
            return false;
        }

        for (int i = 0; i < current.Length; i++)
        {
            ref readonly ChildInfo a = ref current[i];
            ref readonly ChildInfo b = ref _children[i];
            // PERF: state names and types are usually the same string instances tick after tick, so the ordinal
            // comparison short-circuits on reference equality.
            if (!string.Equals(a.Name, b.Name, StringComparison.Ordinal)
                || !string.Equals(a.State, b.State, StringComparison.Ordinal)
                || !string.Equals(a.WorkerType, b.WorkerType, StringComparison.Ordinal)
                || !string.Equals(a.Reason, b.Reason, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private int IndexOf(string name)
    {
        if (name is null)
        {
            return -1;
        }

        if (_index is not null)
        {
            return _index.TryGetValue(name, out int i) ? i : -1;
        }

        for (int i = 0; i < _children.Length; i++)
        {
            if (string.Equals(_children[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
