using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Workers.Calibration;

/// <summary>
/// Builds the synthetic tree for N workers (shared/spec/70-performance.md §5): one root, P = max(1, N / 100)
/// parents, and the remaining N − 1 − P leaves spread evenly over the parents; parents map <c>active</c> →
/// <c>active</c>. The root here is the runtime's root node, so the configuration is the parents list.
/// </summary>
public static class SyntheticTree
{
    /// <summary>The worker type of parents.</summary>
    public const string ParentType = "synthetic-parent";

    /// <summary>The worker type of leaves.</summary>
    public const string LeafType = "synthetic";

    private static readonly Dictionary<string, string> s_activeMapping = new(StringComparer.Ordinal)
    {
        [SyntheticStates.ActiveState] = SyntheticStates.ActiveState,
    };

    /// <summary>
    /// Registers the two synthetic types on <paramref name="factory"/> and returns the top-level configuration.
    /// </summary>
    /// <param name="factory">Where to register the types.</param>
    /// <param name="workers">N: every node counted, the root included (minimum 2).</param>
    /// <param name="startedInitially">Whether simulated processes already run (steady state without actions).</param>
    /// <returns>The top-level entries to hand to the runtime.</returns>
    public static IReadOnlyList<ChildSpec> Register(WorkerFactory factory, int workers, bool startedInitially = true)
    {
        ArgumentNullException.ThrowIfNull(factory);
        (ChildSpec[] top, Dictionary<string, IReadOnlyList<ChildSpec>> childLists) = Layout(workers);
        factory.Register<SyntheticObserved, string>(
            ParentType,
            id => new SyntheticWorker(childLists.GetValueOrDefault(id.Id), startedInitially));
        factory.Register<SyntheticObserved, string>(LeafType, _ => new SyntheticWorker(null, startedInitially));
        return top;
    }

    /// <summary>
    /// Registers the two synthetic types like <see cref="Register"/> and returns the W1 tree as a
    /// <see cref="SyntheticWorkload"/>, which can also change one leaf's user spec (the change ticks of
    /// <c>fsm2-edge calibrate</c>, 50-runtime-monitoring §11.3). Without a change the tree is exactly the one
    /// <see cref="Register"/> builds.
    /// </summary>
    /// <param name="factory">Where to register the types.</param>
    /// <param name="workers">N: every node counted, the root included (minimum 2).</param>
    /// <returns>The workload; hand <see cref="SyntheticWorkload.Configuration"/> to the runtime.</returns>
    public static SyntheticWorkload RegisterWorkload(WorkerFactory factory, int workers)
    {
        ArgumentNullException.ThrowIfNull(factory);
        (ChildSpec[] top, Dictionary<string, IReadOnlyList<ChildSpec>> childLists) = Layout(workers);
        var workload = new SyntheticWorkload(workers, top, childLists[SyntheticWorkload.ChangingParent], s_activeMapping);
        factory.Register<SyntheticObserved, string>(
            ParentType,
            id => id.Id == SyntheticWorkload.ChangingParent
                ? new SyntheticWorker(startedInitially: true, workload.CurrentChangingChildren)
                : new SyntheticWorker(childLists.GetValueOrDefault(id.Id), startedInitially: true));
        factory.Register<SyntheticObserved, string>(LeafType, _ => new SyntheticWorker(null, startedInitially: true));
        return workload;
    }

    private static (ChildSpec[] Top, Dictionary<string, IReadOnlyList<ChildSpec>> ChildLists) Layout(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 2);
        int parents = Math.Max(1, workers / 100);
        int leaves = Math.Max(0, workers - 1 - parents);
        var childLists = new Dictionary<string, IReadOnlyList<ChildSpec>>(StringComparer.Ordinal);
        var top = new ChildSpec[parents];
        for (int p = 0; p < parents; p++)
        {
            string name = $"p{p}";
            int count = (leaves / parents) + (p < leaves % parents ? 1 : 0);
            var children = new ChildSpec[count];
            for (int c = 0; c < count; c++)
            {
                children[c] = new ChildSpec($"w{c}", LeafType, UserSpec.Empty, s_activeMapping);
            }

            childLists[name] = children;
            top[p] = new ChildSpec(name, ParentType, UserSpec.Empty, s_activeMapping);
        }

        return (top, childLists);
    }
}
