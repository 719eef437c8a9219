using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>
/// Helpers for hierarchy tests: parents whose declaration is chosen by their config text, so a test re-declares
/// children by changing the parent's config (a structural spec change, which is what makes the parent re-derive).
/// </summary>
public static class HarnessTreeExtensions
{
    /// <summary>
    /// Registers a parent type whose derive returns state <paramref name="state"/> (or, when null, the config text)
    /// and the children <paramref name="declare"/> picks for its config text.
    /// </summary>
    public static void RegisterParent(
        this Harness harness,
        string type,
        Func<string, IReadOnlyList<ChildSpec>?> declare,
        Action<TestWorker>? configure = null,
        string? state = "running")
    {
        harness.Register(type, worker =>
        {
            worker.OnDerive = spec => new DerivedState<string>(state ?? spec.Config, spec.Config, declare(spec.Config));
            configure?.Invoke(worker);
        });
    }

    /// <summary>Declares the single top-level entry <paramref name="name"/> with config <paramref name="config"/>.</summary>
    public static void ConfigureTop(this Harness harness, string name, string type, string config = "")
        => harness.Configure(Harness.Spec(name, type, config));

    /// <summary>Declares the top-level entry, then steps <paramref name="ticks"/> times.</summary>
    public static void Redeclare(this Harness harness, string name, string type, string config, int ticks = 1)
    {
        harness.ConfigureTop(name, type, config);
        harness.Step(ticks);
    }

    /// <summary>The TestWorker instance currently serving <paramref name="path"/>.</summary>
    public static TestWorker Worker(this Harness harness, string path)
    {
        lock (harness.Workers)
        {
            return harness.Workers.TryGetValue(path, out TestWorker? worker)
                ? worker
                : throw new Xunit.Sdk.XunitException($"no worker created for '{path}'");
        }
    }

    /// <summary>How many log records named <paramref name="eventName"/> mention node <paramref name="node"/>.</summary>
    public static int EventCount(this Harness harness, string eventName, string? node = null)
        => harness.Events(eventName).Count(r => node is null || r.GetStructuredStateValue("Node") == node);

    /// <summary>How many TestWorker instances were created for <paramref name="path"/>.</summary>
    public static int InstancesCreated(this Harness harness, string path)
    {
        lock (harness.Workers)
        {
            return harness.AllWorkers.Count(w => w.Identity.Id == path);
        }
    }

    /// <summary>Status read from another thread, as tools and the host do.</summary>
    public static Task<RuntimeStatus> StatusFromOtherThreadAsync(this Harness harness)
        => Task.Run(() => harness.Runtime.Status);
}
