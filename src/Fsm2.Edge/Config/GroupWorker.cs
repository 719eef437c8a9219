using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Config;

/// <summary>
/// The <c>group</c> worker type (50-runtime-monitoring §7.1): a container whose children are the file's
/// <c>children:</c>. Its derive resolves the spec's fingerprint through a <see cref="GroupChildrenTable"/>; it observes
/// nothing and decides from its children view only.
/// </summary>
/// <remarks>
/// States (first match wins): <c>stopped</c> (shutdown → NeedsRemoval; desired active → <c>active</c>),
/// <c>active</c> (shutdown or desired stopped → <c>stopping</c>; a child <c>degraded</c> → <c>degraded</c>),
/// <c>degraded</c> (shutdown or desired stopped → <c>stopping</c>; no child degraded → <c>active</c>),
/// <c>stopping</c> (every child stopped or gone, or no shutdown and desired active → <c>stopped</c>).
/// </remarks>
public sealed class GroupWorker : IWorker<GroupWorker.Observed, IReadOnlyList<ChildSpec>>
{
    /// <summary>The registered type name.</summary>
    public const string TypeName = ConfigReader.GroupType;

    private readonly GroupChildrenTable _table;

    /// <summary>Creates a group over a children table.</summary>
    /// <param name="table">Where the fingerprints resolve.</param>
    public GroupWorker(GroupChildrenTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        _table = table;
    }

    /// <summary>Registers <c>group</c> on <paramref name="factory"/>.</summary>
    /// <param name="factory">The registry.</param>
    /// <param name="table">The children table the host publishes declarations to.</param>
    public static void Register(WorkerFactory factory, GroupChildrenTable table)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(table);
        factory.Register<Observed, IReadOnlyList<ChildSpec>>(TypeName, _ => new GroupWorker(table));
    }

    /// <inheritdoc/>
    public ValueTask<Observed> CollectObservedStateAsync(DesiredState<IReadOnlyList<ChildSpec>> desired, CancellationToken cancellationToken)
        => ValueTask.FromResult(Observed.Instance);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The fingerprint is unknown (the spec was not built by <see cref="ConfigDeclaration"/>).</exception>
    public DerivedState<IReadOnlyList<ChildSpec>> DeriveDesiredState(UserSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Config.Length == 0)
        {
            return new DerivedState<IReadOnlyList<ChildSpec>>("active", [], null);
        }

        if (!_table.TryResolve(spec.Config, out IReadOnlyList<ChildSpec>? children))
        {
            throw new InvalidOperationException($"group children '{spec.Config}' are not published; build the spec with ConfigDeclaration");
        }

        return new DerivedState<IReadOnlyList<ChildSpec>>("active", children, children);
    }

    /// <inheritdoc/>
    public IState<Observed, IReadOnlyList<ChildSpec>> GetInitialState() => Stopped.Instance;

    /// <summary>A group observes nothing.</summary>
    public sealed class Observed
    {
        /// <summary>The one instance.</summary>
        public static readonly Observed Instance = new();

        private Observed()
        {
        }
    }

    private static bool StopRequested(in Snapshot<Observed, IReadOnlyList<ChildSpec>> s)
        => s.ShutdownRequested || s.Desired.State == "stopped";

    private static string? FirstDegraded(ChildrenView children)
    {
        foreach (ChildInfo child in children)
        {
            if (child.State == "degraded")
            {
                return child.Name;
            }
        }

        return null;
    }

    private sealed class Stopped : IState<Observed, IReadOnlyList<ChildSpec>>
    {
        public static readonly Stopped Instance = new();

        public string Name => "stopped";

        public Transition<Observed, IReadOnlyList<ChildSpec>> Next(in Snapshot<Observed, IReadOnlyList<ChildSpec>> snapshot)
        {
            if (snapshot.ShutdownRequested)
            {
                return Transition.Emit(this, Signal.NeedsRemoval, "shutdown");
            }

            return snapshot.Desired.State == "active" ? Transition.To<Observed, IReadOnlyList<ChildSpec>>(Active.Instance, "desired active") : Transition.To(this);
        }
    }

    private sealed class Active : IState<Observed, IReadOnlyList<ChildSpec>>
    {
        public static readonly Active Instance = new();

        public string Name => "active";

        public Transition<Observed, IReadOnlyList<ChildSpec>> Next(in Snapshot<Observed, IReadOnlyList<ChildSpec>> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<Observed, IReadOnlyList<ChildSpec>>(Stopping.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            return FirstDegraded(snapshot.Children) is { } child
                ? Transition.To<Observed, IReadOnlyList<ChildSpec>>(Degraded.Instance, $"child {child} degraded")
                : Transition.To(this);
        }
    }

    private sealed class Degraded : IState<Observed, IReadOnlyList<ChildSpec>>
    {
        public static readonly Degraded Instance = new();

        public string Name => "degraded";

        public Transition<Observed, IReadOnlyList<ChildSpec>> Next(in Snapshot<Observed, IReadOnlyList<ChildSpec>> snapshot)
        {
            if (StopRequested(snapshot))
            {
                return Transition.To<Observed, IReadOnlyList<ChildSpec>>(Stopping.Instance, snapshot.ShutdownRequested ? "shutdown" : "desired stopped");
            }

            return FirstDegraded(snapshot.Children) is null
                ? Transition.To<Observed, IReadOnlyList<ChildSpec>>(Active.Instance, "no child degraded")
                : Transition.To(this);
        }
    }

    private sealed class Stopping : IState<Observed, IReadOnlyList<ChildSpec>>
    {
        public static readonly Stopping Instance = new();

        public string Name => "stopping";

        public Transition<Observed, IReadOnlyList<ChildSpec>> Next(in Snapshot<Observed, IReadOnlyList<ChildSpec>> snapshot)
        {
            if (!snapshot.ShutdownRequested && snapshot.Desired.State == "active")
            {
                return Transition.To<Observed, IReadOnlyList<ChildSpec>>(Stopped.Instance, "desired active again");
            }

            foreach (ChildInfo child in snapshot.Children)
            {
                if (child.State != "stopped")
                {
                    return Transition.To(this);
                }
            }

            return Transition.To<Observed, IReadOnlyList<ChildSpec>>(Stopped.Instance, "every child stopped");
        }
    }
}
