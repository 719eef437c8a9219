using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Tests.Performance;

/// <summary>
/// 70-performance §12 PF-03 (§8.1: "0 derives and 0 renders across 1,000 unchanged ticks"), read from the runtime's
/// own counters <c>fsm2_derive_total</c> and <c>fsm2_template_renders_total</c> through a metrics listener.
/// </summary>
/// <remarks>
/// The tree is the W1 shape of <see cref="SyntheticTree"/> (1 root + 10 parents + 989 leaves, synthetic workers), and,
/// as §5 describes the workload, every leaf carries a 10-variable config template (User, <c>global.*</c> and
/// <c>internal.*</c> variables) whose output is the desired state <c>active</c>. <see cref="SyntheticTree.Register"/>
/// gives its leaves no template, so this test lays the same tree out with templated leaves itself.
/// </remarks>
public sealed class DeriveAndRenderCounterTests
{
    private const int Parents = 10;
    private const int Leaves = 989;

    /// <summary>Nine User variables, <c>global.site</c> and <c>internal.id</c>; renders <c>active</c>.</summary>
    private const string LeafTemplate =
        "{% assign probe = ip | append: port | append: slave_id | append: timeout_ms | append: registers | append: tag_prefix"
        + " | append: interval | append: device | append: global.site | append: internal.id %}{{ state }}";

    [Fact]
    [Trait("spec", "PF-03")]
    public async Task PF03_W1UnchangedInputs_1000TicksDeriveAndRenderNothing_OneGlobalChangeDerivesEveryNodeExactlyOnce()
    {
        // arrange: the templated W1 tree settled, then 1,000 warm-up ticks.
        await using var harness = new Harness();
        using var metrics = new RuntimeMetricsListener(harness.Runtime);
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["site"] = "plant-1" });
        SteadyTickAllocationTests.SettleW1(harness, RegisterTemplatedW1(harness.Factory));
        SupervisorNode[] nodes = [harness.Runtime.Root, .. Descendants(harness.Runtime.Root)];
        SupervisorNode[] leaves = [.. nodes.Where(n => n.ActiveChildren.Length == 0)];
        Assert.Equal(1 + Parents + Leaves, nodes.Length);
        Assert.Equal(Leaves, leaves.Length);
        Assert.All(leaves, n => Assert.Equal(1, n.TemplateRenderCount));
        for (int i = 0; i < 1_000; i++)
        {
            harness.Runtime.TickOnce();
        }

        long derives = metrics.Derives;
        long renders = metrics.Renders;

        // act 1: 1,000 ticks with unchanged inputs.
        for (int i = 0; i < 1_000; i++)
        {
            harness.Runtime.TickOnce();
        }

        // assert 1: both counters unchanged.
        Assert.Equal(0, metrics.Derives - derives);
        Assert.Equal(0, metrics.Renders - renders);

        // act 2: one Global change, applied at the next tick; then 1,000 more ticks.
        metrics.CountDerivesPerNode = true;
        harness.Runtime.SetGlobals(new Dictionary<string, object?> { ["site"] = "plant-2" });
        harness.Runtime.TickOnce();
        long derivesOnChange = metrics.Derives - derives;
        long rendersOnChange = metrics.Renders - renders;
        for (int i = 0; i < 1_000; i++)
        {
            harness.Runtime.TickOnce();
        }

        // assert 2: every node (the root included) derived exactly once (each leaf re-rendering its template), on that tick only.
        Assert.Equal(nodes.Length, derivesOnChange);
        Assert.Equal(Leaves, rendersOnChange);
        Assert.Equal(nodes.Length, metrics.DerivesPerNode.Count);
        Assert.All(nodes, n => Assert.Equal(1, metrics.DerivesPerNode.GetValueOrDefault(n.Path)));
        Assert.All(leaves, n => Assert.Equal(2, n.TemplateRenderCount));
        Assert.Equal(derivesOnChange, metrics.Derives - derives);
        Assert.Equal(rendersOnChange, metrics.Renders - renders);
        Assert.All(harness.Runtime.Status.Nodes, n => Assert.Equal("running", n.State));
    }

    /// <summary>
    /// Registers synthetic parents and leaves for the W1 layout of <see cref="SyntheticTree"/> (10 parents <c>p0</c>…
    /// <c>p9</c>, the 989 leaves spread evenly, <c>active</c> → <c>active</c> mapping) with a template on every leaf.
    /// </summary>
    private static ChildSpec[] RegisterTemplatedW1(WorkerFactory factory)
    {
        var mapping = new Dictionary<string, string>(StringComparer.Ordinal) { [SyntheticStates.ActiveState] = SyntheticStates.ActiveState };
        var children = new Dictionary<string, IReadOnlyList<ChildSpec>>(StringComparer.Ordinal);
        var top = new ChildSpec[Parents];
        for (int p = 0; p < Parents; p++)
        {
            int count = (Leaves / Parents) + (p < Leaves % Parents ? 1 : 0);
            var leaves = new ChildSpec[count];
            for (int c = 0; c < count; c++)
            {
                leaves[c] = new ChildSpec($"w{c}", SyntheticTree.LeafType, new UserSpec(LeafTemplate, new VariableBundle(LeafVariables(p, c))), mapping);
            }

            children[$"p{p}"] = leaves;
            top[p] = new ChildSpec($"p{p}", SyntheticTree.ParentType, UserSpec.Empty, mapping);
        }

        factory.Register<SyntheticObserved, string>(SyntheticTree.ParentType, id => new SyntheticWorker(children[id.Id], startedInitially: true));
        factory.Register<SyntheticObserved, string>(SyntheticTree.LeafType, _ => new SyntheticWorker(null, startedInitially: true));
        return top;
    }

    private static Dictionary<string, object?> LeafVariables(int parent, int leaf) => new(StringComparer.Ordinal)
    {
        ["state"] = SyntheticStates.ActiveState,
        ["ip"] = $"192.168.{parent}.{leaf % 250}",
        ["port"] = "502",
        ["slave_id"] = leaf,
        ["timeout_ms"] = 500,
        ["registers"] = "40001-40010",
        ["tag_prefix"] = "press",
        ["interval"] = "1s",
        ["device"] = $"plc-{parent}-{leaf}",
    };

    private static List<SupervisorNode> Descendants(SupervisorNode node, List<SupervisorNode>? into = null)
    {
        into ??= [];
        foreach (SupervisorNode child in node.ActiveChildren)
        {
            into.Add(child);
            Descendants(child, into);
        }

        return into;
    }
}
