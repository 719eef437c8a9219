using System.Globalization;

namespace Fsm2.Edge.Workers.Calibration;

/// <summary>
/// The W1 tree of <see cref="SyntheticTree"/> (shared/spec/70-performance.md §5) with one changeable leaf: every call to
/// <see cref="ChangeLeaf"/> gives leaf <c>p0/w0</c> a new user spec, as a configuration reload that edits one leaf does.
/// </summary>
/// <remarks>
/// <para>
/// What a change costs on the next tick: the root re-derives (the top-level list is new) and compares its entries;
/// parent <c>p0</c>, whose config text alternates between <c>""</c> and <c>active</c> (both mean desired state
/// <c>active</c>, so nothing else moves), is updated in place, re-derives and compares its children; leaf <c>w0</c> is
/// updated in place, re-derives and renders <see cref="LeafTemplate"/>, a 10-variable template whose output is
/// <c>active</c>. Its variables carry the revision, so every change is a real one and the template stays parse-cached.
/// No other node re-derives or renders: <c>p0</c>'s own variables never change, so no User variable flows to its
/// children.
/// </para>
/// <para>Not thread-safe: call <see cref="ChangeLeaf"/> between ticks, from the thread that ticks.</para>
/// </remarks>
public sealed class SyntheticWorkload
{
    /// <summary>The name of the parent whose leaf changes.</summary>
    public const string ChangingParent = "p0";

    /// <summary>The name of the leaf that changes (below <see cref="ChangingParent"/>).</summary>
    public const string ChangingLeaf = "w0";

    /// <summary>
    /// The changed leaf's config template: 10 User variables, output <c>active</c> (the synthetic worker's desired state
    /// is its rendered config).
    /// </summary>
    public const string LeafTemplate =
        "{% assign probe = ip | append: port | append: slave_id | append: timeout_ms | append: registers | append: tag_prefix"
        + " | append: interval | append: device | append: revision %}{{ state }}";

    private readonly ChildSpec[] _top;
    private readonly IReadOnlyList<ChildSpec> _initialChildren;
    private readonly IReadOnlyDictionary<string, string> _mapping;
    private IReadOnlyList<ChildSpec> _changingChildren;
    private long _revision;

    internal SyntheticWorkload(int workers, ChildSpec[] top, IReadOnlyList<ChildSpec> changingChildren, IReadOnlyDictionary<string, string> mapping)
    {
        Workers = workers;
        _top = top;
        _initialChildren = changingChildren;
        _changingChildren = changingChildren;
        _mapping = mapping;
        Configuration = top;
    }

    /// <summary>N: every node counted, the root included.</summary>
    public int Workers { get; }

    /// <summary>Tree levels: the root, the parents and, when there is any, the leaves.</summary>
    public int Levels => _initialChildren.Count > 0 ? 3 : 2;

    /// <summary>The node path of the changing leaf; <see langword="null"/> when the tree has no leaf (N = 2).</summary>
    public string? ChangingLeafPath => _initialChildren.Count > 0 ? ChangingParent + "/" + ChangingLeaf : null;

    /// <summary>The initial top-level configuration (the runtime root's children).</summary>
    public IReadOnlyList<ChildSpec> Configuration { get; }

    /// <summary>How many changes <see cref="ChangeLeaf"/> has made.</summary>
    public long Revision => _revision;

    /// <summary>
    /// Gives the changing leaf a new user spec and returns the top-level configuration that carries it; hand it to
    /// <see cref="Supervision.SupervisorRuntime.SetConfiguration"/> before the tick that should apply it. With no leaf
    /// (N = 2) only the parent changes.
    /// </summary>
    /// <returns>A new top-level list (the previous one is not modified).</returns>
    public IReadOnlyList<ChildSpec> ChangeLeaf()
    {
        long revision = ++_revision;
        if (_initialChildren.Count > 0)
        {
            var children = new ChildSpec[_initialChildren.Count];
            for (int i = 0; i < children.Length; i++)
            {
                children[i] = _initialChildren[i];
            }

            children[0] = new ChildSpec(ChangingLeaf, SyntheticTree.LeafType, new UserSpec(LeafTemplate, new VariableBundle(LeafVariables("192.168.1.100", revision))), _mapping);
            Volatile.Write(ref _changingChildren, children);
        }

        var top = new ChildSpec[_top.Length];
        Array.Copy(_top, top, top.Length);
        top[0] = new ChildSpec(ChangingParent, SyntheticTree.ParentType, revision % 2 == 1 ? new UserSpec(SyntheticStates.ActiveState) : UserSpec.Empty, _mapping);
        return top;
    }

    internal IReadOnlyList<ChildSpec> CurrentChangingChildren() => Volatile.Read(ref _changingChildren);

    /// <summary>
    /// The User variables of a leaf rendered from <see cref="LeafTemplate"/>: ten values, of which the device's IP and the
    /// revision vary (the W3/W4 workload of shared/spec/70-performance.md §5).
    /// </summary>
    /// <param name="ip">The device IP.</param>
    /// <param name="revision">A value that changes the rendered config when it changes.</param>
    /// <returns>A new variable map.</returns>
    public static Dictionary<string, object?> LeafVariables(string ip, long revision) => new(StringComparer.Ordinal)
    {
        ["state"] = SyntheticStates.ActiveState,
        ["ip"] = ip,
        ["port"] = "502",
        ["slave_id"] = "1",
        ["timeout_ms"] = "500",
        ["registers"] = "40001-40010",
        ["tag_prefix"] = "press",
        ["interval"] = "1s",
        ["device"] = "plc-01",
        ["revision"] = revision.ToString(CultureInfo.InvariantCulture),
    };
}
