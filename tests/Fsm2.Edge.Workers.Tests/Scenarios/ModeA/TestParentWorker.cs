namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>The parsed config of a <c>test-parent</c>: the child type, the child names and one config template.</summary>
internal sealed record TestParentConfig(IReadOnlyList<ChildSpec> Children);

/// <summary>What a <c>test-parent</c> observes: nothing of its own.</summary>
internal sealed record TestParentObserved
{
    public static readonly TestParentObserved Instance = new();
}

/// <summary>
/// The <c>test-parent</c> worker type of 60-scenarios §1.2: declares N children of a configurable type from its config,
/// where code rather than YAML must declare them. Config lines: <c>child_type: T</c>, <c>children: a, b, c</c> and
/// any number of <c>child_config: line</c> (joined with newlines, <c>{{ name }}</c> replaced by the child's name).
/// States: <c>running</c> only (it supervises; its children do the work).
/// </summary>
internal sealed class TestParentWorker : IWorker<TestParentObserved, TestParentConfig>
{
    public const string Type = "test-parent";

    public static void Register(WorkerFactory factory)
        => factory.Register<TestParentObserved, TestParentConfig>(Type, _ => new TestParentWorker());

    public ValueTask<TestParentObserved> CollectObservedStateAsync(DesiredState<TestParentConfig> desired, CancellationToken cancellationToken)
        => ValueTask.FromResult(TestParentObserved.Instance);

    public DerivedState<TestParentConfig> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string? type = null;
        string[] names = [];
        var template = new List<string>();
        foreach (string raw in spec.Config.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = raw.IndexOf(':', StringComparison.Ordinal);
            string key = colon > 0 ? raw[..colon].Trim() : raw;
            string value = colon > 0 ? raw[(colon + 1)..].Trim() : "";
            switch (key)
            {
                case "child_type":
                    type = value;
                    break;
                case "children":
                    names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "child_config":
                    template.Add(value);
                    break;
                default:
                    throw new FormatException($"test-parent config: unknown key '{key}'");
            }
        }

        if (type is null)
        {
            throw new FormatException("test-parent config: child_type is required");
        }

        string config = string.Join('\n', template);
        ChildSpec[] children = [.. names.Select(n => new ChildSpec(n, type, new UserSpec(config.Replace("{{ name }}", n, StringComparison.Ordinal)), ConfigIsLiteral: true))];
        return new DerivedState<TestParentConfig>("running", new TestParentConfig(children), children);
    }

    public IState<TestParentObserved, TestParentConfig> GetInitialState() => Running.Instance;

    private sealed class Running : IState<TestParentObserved, TestParentConfig>
    {
        public static readonly Running Instance = new();

        public string Name => "running";

        public Transition<TestParentObserved, TestParentConfig> Next(in Snapshot<TestParentObserved, TestParentConfig> snapshot)
            => snapshot.ShutdownRequested && snapshot.Children.Count == 0
                ? Transition.Emit(this, Signal.NeedsRemoval, "shutdown")
                : Transition.To(this);
    }
}
