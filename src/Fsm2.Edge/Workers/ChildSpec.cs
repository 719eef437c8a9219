using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Workers;

/// <summary>
/// One child a parent declares in its derive result. The name is the only key used to match children across
/// reconciles; the node keeps the reference it was given, so specs must not be mutated after they are returned.
/// </summary>
/// <param name="Name">1–128 characters from <c>[A-Za-z0-9._:-]</c>, unique among siblings (ordinal).</param>
/// <param name="WorkerType">The factory key; whether it is registered is checked at creation.</param>
/// <param name="UserSpec">Config text and variables for the child's derive.</param>
/// <param name="StateMapping">Parent effective desired state → child desired state; ordinal.</param>
/// <param name="Location">ISA-95 levels merged over the parent's.</param>
/// <param name="RemovalGrace">How long an undeclared child stays before its removal starts; default zero.</param>
/// <param name="ConfigIsLiteral">When <see langword="true"/>, the config is used verbatim and never rendered.</param>
public sealed record ChildSpec(
    string Name,
    string WorkerType,
    UserSpec UserSpec,
    IReadOnlyDictionary<string, string>? StateMapping = null,
    IsaLocation? Location = null,
    TimeSpan RemovalGrace = default,
    bool ConfigIsLiteral = false)
{
    /// <summary>
    /// Infrastructure probes attached to this child's node (30-supervision §10.4), in addition to the defaults of its
    /// worker type. A probe belongs to exactly one node; its verdicts feed that node's breaker. An invalid entry is a
    /// configuration error of the node (shown in its status); the valid entries are still attached.
    /// </summary>
    public IReadOnlyList<Health.ProbeSpec>? Probes { get; init; }

    /// <summary>
    /// Structural equality as the reconciler sees it: ordinal name, type, config text, literal flag, mapping and
    /// location, plus deep User and Global variables (never Internal).
    /// </summary>
    /// <param name="other">The spec to compare with.</param>
    /// <returns><see langword="true"/> when a reconcile would treat both specs as the same declaration.</returns>
    public bool StructurallyEquals(ChildSpec? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        return other is not null
            && string.Equals(Name, other.Name, StringComparison.Ordinal)
            && string.Equals(WorkerType, other.WorkerType, StringComparison.Ordinal)
            && ConfigIsLiteral == other.ConfigIsLiteral
            && RemovalGrace == other.RemovalGrace
            && Equals(Location, other.Location)
            && MappingEquals(StateMapping, other.StateMapping)
            && ProbesEqual(Probes, other.Probes)
            && (UserSpec ?? UserSpec.Empty).StructurallyEquals(other.UserSpec ?? UserSpec.Empty);
    }

    internal static bool ProbesEqual(IReadOnlyList<Health.ProbeSpec>? a, IReadOnlyList<Health.ProbeSpec>? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        int countA = a?.Count ?? 0;
        if (countA != (b?.Count ?? 0))
        {
            return false;
        }

        for (int i = 0; i < countA; i++)
        {
            if (!Equals(a![i], b![i])) // both non-null: the counts are equal and positive.
            {
                return false;
            }
        }

        return true;
    }

    internal static bool MappingEquals(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.Count != b.Count)
        {
            return false;
        }

        foreach (KeyValuePair<string, string> pair in a)
        {
            if (!b.TryGetValue(pair.Key, out string? value) || !string.Equals(value, pair.Value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
