using Fsm2.Edge.Collection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>Rendering wired into the supervisor: 20-templating §8.1–§8.3, §8.6 and §8.8 at runtime level.</summary>
public sealed class TemplatingRuntimeTests
{
    private static ChildSpec Entry(
        string name,
        string type,
        string config,
        Dictionary<string, object?>? user = null,
        IsaLocation? location = null)
        => new(name, type, new UserSpec(config, new VariableBundle(user)), null, location);

    /// <summary>A leaf whose derive returns state "running" and the rendered config.</summary>
    private static void RegisterLeaf(Harness h, string type = "leaf")
        => h.Register(type, w => w.OnDerive = spec => new DerivedState<string>("running", spec.Config));

    /// <summary>A parent whose derive returns the rendered config and the children <paramref name="declare"/> builds.</summary>
    private static void RegisterParent(Harness h, string type, Func<UserSpec, IReadOnlyList<ChildSpec>?> declare)
        => h.Register(type, w => w.OnDerive = spec => new DerivedState<string>("running", spec.Config, declare(spec)));

    [Fact]
    [Trait("spec", "T-13")]
    public async Task ThreeLevels_GrandparentVariableReachesTheGrandchildsRenderedConfig()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "mid", _ => [Entry("g", "leaf", "{{ site_var }}/{{ mid_var }}/{{ own }}", new() { ["own"] = "O" })]);
        RegisterParent(h, "top", _ => [Entry("c", "mid", "", new() { ["mid_var"] = "M" })]);
        h.Configure(Entry("p", "top", "", new() { ["site_var"] = "S" }));

        // act
        h.Step();

        // assert
        Assert.Equal("S/M/O", h.Worker("p/c/g").LastDerivedSpec!.Config);
        Assert.Equal("S", h.Worker("p/c/g").LastDerivedSpec!.Variables.User["site_var"]);
    }

    [Fact]
    [Trait("spec", "T-05")]
    public async Task T05_UnsupportedChildVariable_FailsTheParentsDerive_NoChildChanges()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "parent", spec => spec.Variables.User["bad"] is true
            ? [new ChildSpec("c", "leaf", new UserSpec("", new VariableBundle(new Dictionary<string, object?>
            {
                ["poll"] = new Dictionary<string, object?> { ["timeout"] = TimeSpan.FromSeconds(5) },
            })))]
            : [Entry("c", "leaf", "ok")]);
        h.Configure(Entry("p", "parent", "", new() { ["bad"] = false }));
        h.Step();
        SupervisorNode child = h.Node("p/c");

        // act
        h.Configure(Entry("p", "parent", "", new() { ["bad"] = true }));
        h.Step();

        // assert
        string error = h.Node("p").GetError(ErrorSource.Derive)!.Message;
        Assert.Contains("poll.timeout", error, StringComparison.Ordinal);
        Assert.Contains("TimeSpan", error, StringComparison.Ordinal);
        Assert.Same(child, h.Node("p/c"));
        Assert.Equal("ok", h.Worker("p/c").LastDerivedSpec!.Config);
    }

    [Fact]
    [Trait("spec", "T-07")]
    public async Task T07_OwnerMutatesTheDictionaryAfterHandOver_ChildStillRendersTheOriginal()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        var conn = new Dictionary<string, object?> { ["host"] = "a" };
        ChildSpec declared = new("c", "leaf", new UserSpec("{{ conn.host }}|{{ global.g }}", new VariableBundle(new Dictionary<string, object?> { ["conn"] = conn })));
        RegisterParent(h, "parent", _ => [declared]);
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["g"] = "1" });
        h.Configure(Entry("p", "parent", ""));
        h.Step();

        // act: the owner mutates; a Global change makes the child re-render.
        conn["host"] = "b";
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["g"] = "2" });
        h.Step();

        // assert
        Assert.Equal("a|2", h.Worker("p/c").LastDerivedSpec!.Config);
        Assert.Equal(2, h.Node("p/c").TemplateRenderCount);
    }

    [Fact]
    [Trait("spec", "T-10")]
    public async Task T10_ReservedUserKey_IsSkipped_RuntimeValueWins_WarnedOnce()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        h.Configure(Entry("w-1", "leaf", "{{ internal.id }}", new() { ["internal"] = new Dictionary<string, object?> { ["id"] = "spoof" } }));

        // act
        h.Step();
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["x"] = "1" });
        h.Step();

        // assert
        Assert.Equal("w-1", h.Worker("w-1").LastDerivedSpec!.Config);
        Assert.Equal(2, h.Node("w-1").TemplateRenderCount);
        Assert.Single(h.Events("template_reserved_variable"));
    }

    [Fact]
    [Trait("spec", "T-17")]
    public async Task T17_EmptyRetainedFleetMessage_ClearsTheFleetLayer()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["api"] = "a" });
        Assert.True(h.Runtime.ApplyFleetPayload("{\"version\":3,\"variables\":{\"api\":\"b\"}}"u8));
        h.Configure(Entry("w", "leaf", "{{ global.api }}"));
        h.Step();
        string withFleet = h.Worker("w").LastDerivedSpec!.Config;

        // act
        bool accepted = h.Runtime.ApplyFleetPayload([]);
        h.Step();

        // assert
        Assert.Equal("b", withFleet);
        Assert.True(accepted);
        Assert.Equal("a", h.Worker("w").LastDerivedSpec!.Config);
    }

    [Theory]
    [Trait("spec", "T-18")]
    [InlineData("[1,2]")]
    [InlineData("{bad json")]
    public async Task T18_InvalidFleetPayload_RejectedAsAWhole_NothingRenders(string payload)
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        using var updates = new MetricCollector<long>(h.Runtime.Metrics.GlobalUpdates);
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["api"] = "a" });
        h.Configure(Entry("w", "leaf", "{{ global.api }}"));
        h.Step();
        long renders = h.Runtime.Renderer.RenderCount;

        // act
        bool accepted = h.Runtime.ApplyFleetPayload(System.Text.Encoding.UTF8.GetBytes(payload));
        h.Step();

        // assert
        Assert.False(accepted);
        Assert.Single(h.Events("global_update_rejected"));
        Assert.Contains(updates.GetMeasurementSnapshot(), m => m.Tags["result"] as string == "rejected" && m.Value == 1);
        Assert.Equal(renders, h.Runtime.Renderer.RenderCount);
        Assert.Equal("a", h.Worker("w").LastDerivedSpec!.Config);
    }

    [Fact]
    [Trait("spec", "T-19")]
    public async Task T19_InternalIdParentIdAndCreatedAt_PerNode()
    {
        // arrange: a runtime on a clock at 2025-11-03T10:00:00Z; the child is declared 5 s after its parent exists.
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 11, 3, 10, 0, 0, TimeSpan.Zero));
        var factory = new WorkerFactory();
        var derived = new Dictionary<string, string>();
        const string template = "{{ internal.id }}|{{ internal.parent_id }}|{{ internal.created_at }}";
        factory.Register<TestObserved, string>("conv", id => new TestWorker(id)
        {
            OnDerive = spec =>
            {
                derived[id.Id] = spec.Config;
                return new DerivedState<string>("running", spec.Config, spec.Variables.User["declare"] is true
                    ? [new ChildSpec("conn-1", "conn", new UserSpec(template))]
                    : null);
            },
        });
        factory.Register<TestObserved, string>("conn", id => new TestWorker(id)
        {
            OnDerive = spec =>
            {
                derived[id.Id] = spec.Config;
                return new DerivedState<string>("running", spec.Config);
            },
        });
        await using var runtime = new SupervisorRuntime(factory, null, time, null, new ManualObservationScheduler(time));
        runtime.SetConfiguration([Entry("conv-1", "conv", template, new() { ["declare"] = false })]);
        runtime.TickOnce();

        // act
        time.Advance(TimeSpan.FromSeconds(5));
        runtime.SetConfiguration([Entry("conv-1", "conv", template, new() { ["declare"] = true })]);
        runtime.TickOnce();

        // assert
        Assert.Equal("conv-1||2025-11-03T10:00:00Z", derived["conv-1"]);
        Assert.Equal("conv-1/conn-1|conv-1|2025-11-03T10:00:05Z", derived["conv-1/conn-1"]);
    }

    [Fact]
    [Trait("spec", "T-21")]
    public async Task T21_HundredUnchangedTicks_RenderOnce()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        h.Configure(Entry("w", "leaf", "host: {{ IP }}", new() { ["IP"] = "10.0.0.1" }));
        h.Step();
        long renders = h.Runtime.Renderer.RenderCount;

        // act
        h.Step(100);

        // assert
        Assert.Equal(1, h.Node("w").TemplateRenderCount);
        Assert.Equal(renders, h.Runtime.Renderer.RenderCount);
        Assert.Equal(1, h.Worker("w").DeriveCalls);
    }

    [Fact]
    [Trait("spec", "T-21")]
    public async Task T21_SteadyTickOfAHundredTemplatedNodes_Allocates0Bytes()
    {
        // arrange: 10 templated parents with 9 templated children each, plus Global and location in every scope.
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "parent", spec =>
        {
            var children = new ChildSpec[9];
            for (int i = 0; i < children.Length; i++)
            {
                children[i] = Entry($"c{i}", "leaf", "topic: umh/v1/{{ location_path }}/{{ name }}/{{ global.api }}", new() { ["name"] = $"c{i}" });
            }

            return children;
        });
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["api"] = "a" });
        h.Runtime.SetLocation(new IsaLocation("ACME", "F1"));
        var entries = new ChildSpec[10];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = Entry($"p{i}", "parent", "port: {{ PORT }}", new() { ["PORT"] = 500 + i }, new IsaLocation(Line: $"L{i}"));
        }

        h.Configure(entries);
        h.Step(20);
        long renders = h.Runtime.Renderer.RenderCount;
        long before = h.Runtime.TickThreadAllocatedBytes;

        // act
        for (int i = 0; i < 1_000; i++)
        {
            h.Runtime.TickOnce();
        }

        // assert
        Assert.Equal(100, h.Runtime.LiveWorkerCount);
        Assert.Equal(100, renders);
        Assert.Equal(renders, h.Runtime.Renderer.RenderCount);
        Assert.Equal(0, h.Runtime.TickThreadAllocatedBytes - before);
    }

    [Fact]
    [Trait("spec", "T-22")]
    public async Task T22_ReappliedConfigWithOnlyKeyOrderChanged_NoChildDerivesOrRenders()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        h.Configure(Entry("a", "leaf", "{{ x }}{{ y }}", new() { ["x"] = "1", ["y"] = "2" }), Entry("b", "leaf", "{{ x }}", new() { ["x"] = "3" }));
        h.Step();
        long renders = h.Runtime.Renderer.RenderCount;

        // act: a fresh, structurally equal configuration (new instances, keys in another order).
        h.Configure(Entry("a", "leaf", "{{ x }}{{ y }}", new() { ["y"] = "2", ["x"] = "1" }), Entry("b", "leaf", "{{ x }}", new() { ["x"] = "3" }));
        h.Step();

        // assert
        Assert.Equal(renders, h.Runtime.Renderer.RenderCount);
        Assert.Equal(1, h.Worker("a").DeriveCalls);
        Assert.Equal(1, h.Worker("b").DeriveCalls);
    }

    [Fact]
    [Trait("spec", "T-23")]
    public async Task T23_UnusedVariableChange_RendersOnceWithoutNewDesiredState_UsedOneDoes()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        h.Configure(Entry("w", "leaf", "host: \"{{ IP }}\"", new() { ["IP"] = "10.0.0.1", ["unused"] = 1 }));
        h.Step();
        object? desired = h.Node("w").Desired;

        // act
        h.Configure(Entry("w", "leaf", "host: \"{{ IP }}\"", new() { ["IP"] = "10.0.0.1", ["unused"] = 2 }));
        h.Step();
        object? afterUnused = h.Node("w").Desired;
        h.Configure(Entry("w", "leaf", "host: \"{{ IP }}\"", new() { ["IP"] = "10.0.0.2", ["unused"] = 2 }));
        h.Step();

        // assert
        Assert.Equal(3, h.Worker("w").DeriveCalls);
        Assert.Equal(3, h.Node("w").TemplateRenderCount);
        Assert.Same(desired, afterUnused);
        var latest = (DesiredState<string>)h.Node("w").Desired!;
        Assert.NotSame(desired, latest);
        Assert.Equal("host: \"10.0.0.2\"", latest.Config);
    }

    [Fact]
    [Trait("spec", "T-24")]
    public async Task T24_GlobalChange_EachOfTenNodesRendersOnce_SameGlobalAgainRendersNone()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "parent", _ => [.. Enumerable.Range(0, 9).Select(i => Entry($"c{i}", "leaf", "{{ global.v }}"))]);
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["v"] = "1" });
        h.Configure(Entry("p", "parent", "{{ global.v }}"));
        h.Step();
        string[] paths = ["p", .. Enumerable.Range(0, 9).Select(i => $"p/c{i}")];

        // act
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["v"] = "2" });
        h.Step();
        long[] afterChange = [.. paths.Select(p => h.Node(p).TemplateRenderCount)];
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["v"] = "2" });
        h.Step();
        long[] afterSame = [.. paths.Select(p => h.Node(p).TemplateRenderCount)];

        // assert
        Assert.All(afterChange, count => Assert.Equal(2, count));
        Assert.Equal(afterChange, afterSame);
        Assert.All(paths, p => Assert.Equal("2", h.Worker(p).LastDerivedSpec!.Config));
    }

    [Fact]
    [Trait("spec", "T-27")]
    public async Task T27_CodeDeclaredChildWithBrokenTemplate_ExistsWithDeriveError_SiblingsRender()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "parent", _ => [Entry("bad", "leaf", "Hello {{ Name }"), Entry("good", "leaf", "Hello {{ Name }}", new() { ["Name"] = "x" })]);
        h.Configure(Entry("p", "parent", ""));

        // act
        h.Step(3);

        // assert
        SupervisorNode bad = h.Node("p/bad");
        Assert.Contains("parse template", bad.GetError(ErrorSource.Derive)!.Message, StringComparison.Ordinal);
        Assert.Null(bad.Desired);
        Assert.Equal(0, h.Worker("p/bad").DeriveCalls);
        Assert.Equal(0, h.Worker("p/bad").CollectCalls);
        Assert.Equal("Hello x", h.Worker("p/good").LastDerivedSpec!.Config);
        Assert.Single(h.Events("derive_failed"));
    }

    [Fact]
    [Trait("spec", "T-28")]
    public async Task T28_RenderFailureOnGlobalChange_KeepsLastGoodStateAndChildren()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "parent", _ => [Entry("a", "leaf", ""), Entry("b", "leaf", "")]);
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["x"] = "1" });
        h.Configure(Entry("p", "parent", "x: {{ global.x }}"));
        h.Step(2);
        object? desired = h.Node("p").Desired;
        long childTicks = h.Node("p/a").TickCount;

        // act
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["y"] = "1" });
        h.Step();
        long childTicksAfterFailure = h.Node("p/a").TickCount;
        h.Step(3);

        // assert
        Assert.Equal(childTicks, childTicksAfterFailure);
        Assert.Equal(childTicks + 3, h.Node("p/a").TickCount);
        Assert.Equal(childTicks + 3, h.Node("p/b").TickCount);
        Assert.Same(desired, h.Node("p").Desired);
        Assert.Contains("'global.x'", h.Node("p").LastError!.Message, StringComparison.Ordinal);
        Assert.Equal(2, h.Node("p").TemplateRenderCount);
        Assert.Single(h.Events("derive_failed"));
    }

    [Fact]
    [Trait("spec", "T-29")]
    public async Task T29_SharedTemplateParsedOnce_EvictionDoesNotCostANodeAParse()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        const string template = "{{ Protocol }}://{{ IP }}";
        h.Configure([.. Enumerable.Range(0, 100).Select(i => Entry($"n{i}", "leaf", template, new() { ["Protocol"] = "mqtt", ["IP"] = $"10.0.0.{i}" }))]);
        h.Step();
        long parsesAfterFirstRender = h.Runtime.Renderer.ParseCount;

        // act: 1,100 other texts push the shared one out of the 1,024-entry cache; then one node's variables change.
        for (int i = 0; i < 1_100; i++)
        {
            h.Runtime.Renderer.Parse($"filler {i} {{{{ x }}}}");
        }

        long parsesBefore = h.Runtime.Renderer.ParseCount;
        h.Configure([.. Enumerable.Range(0, 100).Select(i => Entry($"n{i}", "leaf", template, new() { ["Protocol"] = "mqtt", ["IP"] = i == 7 ? "10.0.1.7" : $"10.0.0.{i}" }))]);
        h.Step();

        // assert
        Assert.Equal(1, parsesAfterFirstRender);
        Assert.True(h.Runtime.Renderer.EvictionCount > 0);
        Assert.Equal(parsesBefore, h.Runtime.Renderer.ParseCount);
        Assert.Equal("mqtt://10.0.1.7", h.Worker("n7").LastDerivedSpec!.Config);
    }

    [Fact]
    [Trait("spec", "T-63")]
    public async Task T63_LocationMergedDownTheTree()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "parent", _ => [Entry("c", "leaf", "{{ location_path }}|{{ location.site }}", location: new IsaLocation(Site: "Factory-2", Line: "Line-A"))]);
        h.Configure(Entry("p", "parent", "", location: new IsaLocation("ACME", "Factory-1")));

        // act
        h.Step();

        // assert
        Assert.Equal("ACME.Factory-2.Line-A|Factory-2", h.Worker("p/c").LastDerivedSpec!.Config);
        Assert.Equal("ACME.Factory-2.Line-A", h.Node("p/c").LocationPath);
    }

    [Fact]
    [Trait("spec", "T-67")]
    public async Task T67_CodeDeclaredChildWithoutEnterprise_DeriveErrorNotRendered_SiblingRenders()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "parent", _ => [Entry("c", "leaf", "{{ location_path }}", location: new IsaLocation(Line: "L1")), Entry("s", "leaf", "[{{ location_path }}]")]);
        h.Configure(Entry("p", "parent", ""));

        // act
        h.Step(2);

        // assert
        Assert.Contains("has no 'enterprise'", h.Node("p/c").GetError(ErrorSource.Derive)!.Message, StringComparison.Ordinal);
        Assert.Equal(0, h.Node("p/c").TemplateRenderCount);
        Assert.Equal("[]", h.Worker("p/s").LastDerivedSpec!.Config);
    }

    [Fact]
    [Trait("spec", "T-64")]
    public async Task T64_RuntimeLocationIsTheBaseOfTheTree()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        h.Runtime.SetLocation(new IsaLocation("ACME", "Factory-1"));
        h.Configure(Entry("w", "leaf", "{{ location_path }}", location: new IsaLocation(Area: "Area-North", Line: "Line-A", Cell: "Cell-5")));

        // act
        h.Step();

        // assert
        Assert.Equal("ACME.Factory-1.Area-North.Line-A.Cell-5", h.Worker("w").LastDerivedSpec!.Config);
    }

    [Fact]
    [Trait("spec", "T-74")]
    public async Task T74_NamedTemplateOffTheTickThread_WithPerMessageVariables()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        h.Runtime.SetLocation(new IsaLocation("ACME", "Factory-1"));
        h.Configure(Entry("w", "leaf", "", new() { ["tag"] = "user-tag" }, new IsaLocation(Line: "Line-A")));
        h.Step();
        RenderScope scope = h.Worker("w").LastDerivedSpec!.Scope!;
        LiquidRenderer renderer = h.Runtime.Renderer;
        ParsedTemplate named = renderer.Parse("umh/v1/{{ location_path }}/_historian/{{ tag }}");

        // act
        string topic = await Task.Run(() => renderer.Render(named, scope.With(new Dictionary<string, object?> { ["tag"] = "axis.x" })));
        string global = await Task.Run(() => renderer.Render("{{ global.k }}", scope.With(new Dictionary<string, object?> { ["global"] = "x" })));

        // assert
        Assert.Equal("umh/v1/ACME.Factory-1.Line-A/_historian/axis.x", topic);
        Assert.Equal("v", global);
        Assert.Equal("umh/v1/ACME.Factory-1.Line-A/_historian/user-tag", renderer.Render(named, scope));
    }

    [Fact]
    [Trait("spec", "T-10")]
    public async Task LiteralConfig_IsNeverRendered()
    {
        // arrange
        await using var h = new Harness();
        RegisterLeaf(h);
        RegisterParent(h, "parent", _ => [new ChildSpec("c", "leaf", new UserSpec("{{ .IP }}"), ConfigIsLiteral: true)]);
        h.Configure(Entry("p", "parent", ""));

        // act
        h.Step();

        // assert
        Assert.Equal("{{ .IP }}", h.Worker("p/c").LastDerivedSpec!.Config);
        Assert.Equal(0, h.Node("p/c").TemplateRenderCount);
    }
}
