using System.Text.Json;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;
using static Fsm2.Edge.Tests.TestSupport.Harness;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>The injected variables (§2.3) and the worker store with its diagnostic dump (§3.2).</summary>
public sealed class VariablesAndStoreTests
{
    [Fact]
    [Trait("spec", "C-79")]
    public async Task C79_GrandchildDerive_SeesGlobalsAndInternalIdentity()
    {
        // arrange
        await using var h = new Harness();
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["k"] = "v" });
        h.Register("leaf");
        h.Register("mid", w => w.Children = [Spec("g", "leaf")]);
        h.RegisterParent("parent", _ => [Spec("c", "mid")]);
        h.ConfigureTop("p", "parent", "v1");
        h.Time.Advance(TimeSpan.FromSeconds(5));

        // act
        h.Step();

        // assert
        UserSpec spec = h.Worker("p/c/g").LastDerivedSpec!;
        Assert.Equal("v", spec.Variables.Global!["k"]);
        Assert.Equal("p/c/g", spec.Variables.Internal!["id"]);
        Assert.Equal("p/c", spec.Variables.Internal!["parent_id"]);
        Assert.Equal(h.Node("p/c/g").CreatedAt, spec.Variables.Internal!["created_at"]);
        Assert.Equal(h.Time.GetUtcNow(), spec.Variables.Internal!["created_at"]);
        UserSpec top = h.Worker("p").LastDerivedSpec!;
        Assert.Equal("", top.Variables.Internal!["parent_id"]);
        Assert.Equal("p", top.Variables.Internal!["id"]);
        Assert.Equal("v", top.Variables.Global!["k"]);
    }

    [Fact]
    [Trait("spec", "C-80")]
    public async Task C80_SpecWithoutUserVariables_DeriveGetsEmptyNonNullMap()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.ConfigureTop("p", "leaf");

        // act
        h.Step();

        // assert
        UserSpec spec = h.Worker("p").LastDerivedSpec!;
        Assert.NotNull(spec.Variables.User);
        Assert.Empty(spec.Variables.User);
        Assert.NotNull(spec.Variables.Global);
        Assert.NotNull(spec.Variables.Internal);
    }

    [Fact]
    [Trait("spec", "C-80")]
    public async Task C80_ParentAndChildUserVariables_ChildWinsAndInheritsTheRest()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.Register("parent", w => w.Children =
        [
            new ChildSpec("c", "leaf", new UserSpec("", new VariableBundle(new Dictionary<string, object?> { ["b"] = 3 }))),
        ]);
        h.Configure(new ChildSpec("p", "parent", new UserSpec("", new VariableBundle(new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }))));

        // act
        h.Step();

        // assert
        IReadOnlyDictionary<string, object?> child = h.Worker("p/c").LastDerivedSpec!.Variables.User;
        Assert.Equal(1L, child["a"]);
        Assert.Equal(3L, child["b"]);
        Assert.Equal(2, child.Count);
        IReadOnlyDictionary<string, object?> parent = h.Worker("p").LastDerivedSpec!.Variables.User;
        Assert.Equal(1L, parent["a"]);
        Assert.Equal(2L, parent["b"]);
    }

    [Fact]
    [Trait("spec", "C-81")]
    public async Task C81_ThousandCreateRemoveCycles_StoreHoldsLiveWorkersOnly()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.RegisterParent("parent", cfg => cfg.StartsWith("on", StringComparison.Ordinal) ? [Spec("c", "leaf")] : null);
        h.Redeclare("p", "parent", "off", ticks: 2);

        // act: every other removal happens before the child's first observation (finalized as never observed).
        for (int i = 0; i < 1_000; i++)
        {
            h.Redeclare("p", "parent", $"on{i}");
            h.ConfigureTop("p", "parent", $"off{i}");
            if (i % 2 == 0)
            {
                h.Step();
            }
            else
            {
                h.Runtime.TickOnce();
            }
        }

        h.Step();

        // assert
        Assert.Equal(1_000, h.InstancesCreated("p/c"));
        Assert.Equal(1, h.Runtime.LiveWorkerCount);
        Assert.Null(h.Runtime.FindNode("p/c"));
        Assert.Empty(h.Node("p").ListRemovingChildren());
        Assert.Equal(["p"], h.Scheduler.Collectors.Select(c => c.WorkerId));
        Assert.Equal(1_000, h.Events("node_removed").Count);
    }

    [Fact]
    [Trait("spec", "C-82")]
    public async Task C82_RequestDumpAsync_ListsEveryLiveRecordWithoutInternalVariables()
    {
        // arrange: p with an active child and a removing child that never finishes.
        await using var h = new Harness();
        h.Runtime.SetGlobals(new Dictionary<string, object?> { ["site"] = "plant-7" });
        h.Register("leaf", w => w.NextObservation = new TestObserved(42, "ok"));
        h.Register("stubborn", w => w.InitialState = TestStates.NewStubborn());
        h.RegisterParent("parent", cfg => cfg == "v1" ? [Spec("a", "leaf", "warm"), Spec("z", "stubborn")] : [Spec("a", "leaf", "warm")]);
        h.Redeclare("p", "parent", "v1", ticks: 3);
        h.Redeclare("p", "parent", "v2");

        // act
        Task<string> request = h.Runtime.RequestDumpAsync();
        bool completedBeforeTick = request.IsCompleted;
        h.Step();
        string json = await Wait.For(request, "the dump");

        // assert
        Assert.False(completedBeforeTick);
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement[] workers = [.. document.RootElement.GetProperty("workers").EnumerateArray()];
        Assert.Equal(["p", "p/a", "p/z"], workers.Select(w => w.GetProperty("identity").GetProperty("id").GetString()));

        JsonElement a = workers[1];
        JsonElement identity = a.GetProperty("identity");
        Assert.Equal("a", identity.GetProperty("name").GetString());
        Assert.Equal("leaf", identity.GetProperty("workerType").GetString());
        Assert.Equal("p", identity.GetProperty("parentId").GetString());
        var desired = (DesiredState<string>)h.Node("p/a").Desired!;
        JsonElement desiredJson = a.GetProperty("desired");
        Assert.Equal("warm", desiredJson.GetProperty("state").GetString());
        Assert.Equal("warm", desiredJson.GetProperty("config").GetString());
        Assert.False(desiredJson.GetProperty("shutdownRequested").GetBoolean());
        Assert.Equal(desired.Version, desiredJson.GetProperty("version").GetInt64());
        var observation = (Observation<TestObserved>)h.Node("p/a").Worker!.GetRecords().Observation!;
        JsonElement observed = a.GetProperty("observed");
        Assert.Equal(observation.Value.ToString(), observed.GetProperty("value").GetString());
        Assert.Contains("42", observed.GetProperty("value").GetString(), StringComparison.Ordinal);
        Assert.Equal(observation.CollectedAt, observed.GetProperty("collectedAt").GetDateTimeOffset());
        Assert.Equal(observation.Sequence, observed.GetProperty("sequence").GetInt64());

        Assert.True(workers[2].GetProperty("desired").GetProperty("shutdownRequested").GetBoolean());
        Assert.Equal("removing", workers[2].GetProperty("lifecycle").GetString());

        Assert.DoesNotContain("internal", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("created_at", json, StringComparison.Ordinal);
        Assert.DoesNotContain("parent_id", json, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "C-82")]
    public async Task C82_RequestDumpAsync_StartedRuntime_BuiltByTheTickThread()
    {
        // arrange
        await using var h = new Harness(new RuntimeOptions { ShutdownBudget = TimeSpan.FromHours(1) });
        h.Register("leaf");
        h.ConfigureTop("p", "leaf");
        h.Runtime.Start();
        try
        {
            // act: the dump completes once the tick thread has ticked.
            Task<string> request = h.Runtime.RequestDumpAsync();
            h.Time.Advance(h.Runtime.Options.TickInterval);
            string json = await Wait.For(request, "the dump");

            // assert
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement worker = Assert.Single(document.RootElement.GetProperty("workers").EnumerateArray());
            Assert.Equal("p", worker.GetProperty("identity").GetProperty("id").GetString());
        }
        finally
        {
            Assert.True((await StartedRuntime.DrainAsync(h.Runtime, h.Scheduler, h.Time)).Clean);
        }
    }

    [Fact]
    public async Task RequestDumpAsync_CancelledBeforeNextTick_IsCancelled()
    {
        // arrange
        await using var h = new Harness();
        h.Register("leaf");
        h.ConfigureTop("p", "leaf");
        h.Step();
        using var cts = new CancellationTokenSource();

        // act
        Task<string> request = h.Runtime.RequestDumpAsync(cts.Token);
        await cts.CancelAsync();
        h.Step();

        // assert
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
    }
}
