using System.Diagnostics.CodeAnalysis;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Config;

/// <summary>
/// Resolves a <c>group</c> spec's fingerprint to its file children (see <see cref="ConfigDeclaration"/>). The host
/// publishes each declaration before handing it to the runtime; the tick thread reads during derive.
/// </summary>
/// <remarks>
/// Entries are content-addressed and immutable, so a derive never sees a half-applied declaration. The table keeps
/// the fingerprints of the last two published declarations: the runtime may still derive against the previous one until
/// the tick that applies the new one.
/// </remarks>
public sealed class GroupChildrenTable
{
    // Shared: replaced whole by Publish (any thread, volatile write); read by derive on the tick thread.
    private volatile Snapshot _snapshot = new(
        new Dictionary<string, IReadOnlyList<ChildSpec>>(StringComparer.Ordinal), new Dictionary<string, IReadOnlyList<ChildSpec>>(StringComparer.Ordinal));
    private readonly Lock _publishLock = new();

    /// <summary>Makes a declaration's group fingerprints resolvable (and drops those of older declarations).</summary>
    /// <param name="declaration">The declaration about to be handed to the runtime.</param>
    public void Publish(ConfigDeclaration declaration)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        lock (_publishLock)
        {
            Snapshot previous = _snapshot;
            var merged = new Dictionary<string, IReadOnlyList<ChildSpec>>(declaration.GroupChildren, StringComparer.Ordinal);
            foreach (KeyValuePair<string, IReadOnlyList<ChildSpec>> pair in previous.Current)
            {
                merged.TryAdd(pair.Key, pair.Value);
            }

            _snapshot = new Snapshot(merged, declaration.GroupChildren);
        }
    }

    /// <summary>Finds the children of a group fingerprint.</summary>
    /// <param name="fingerprint">A group spec's config text.</param>
    /// <param name="children">The children's specs, when known.</param>
    /// <returns><see langword="true"/> when the fingerprint belongs to one of the last two declarations.</returns>
    public bool TryResolve(string fingerprint, [NotNullWhen(true)] out IReadOnlyList<ChildSpec>? children)
        => _snapshot.All.TryGetValue(fingerprint, out children);

    private sealed record Snapshot(
        IReadOnlyDictionary<string, IReadOnlyList<ChildSpec>> All,
        IReadOnlyDictionary<string, IReadOnlyList<ChildSpec>> Current);
}
