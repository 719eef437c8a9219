using Akka.Actor;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;
using Proto;

namespace Fsm2.Edge.Benchmarks.Supervision;

/// <summary>
/// One node of the W1 tree for the actor peers of <see cref="TickBenchmarks"/> (shared/spec/70-performance.md §5, §7).
/// The shape is read from <see cref="SyntheticTree"/> itself (the parents it declares and the child lists their workers
/// derive), so the peers and the Fsm2.Edge tick run the same tree.
/// </summary>
public sealed class PeerTreeNode
{
    private PeerTreeNode(Identity identity, PeerTreeNode[] children)
    {
        Identity = identity;
        Children = children;
    }

    /// <summary>The node's identity (the root's id is <c>""</c>).</summary>
    public Identity Identity { get; }

    /// <summary>The node's children; empty for leaves.</summary>
    public IReadOnlyList<PeerTreeNode> Children { get; }

    /// <summary>Whether this is the root, which only fans out and collects (it is the runtime's root node, not a worker).</summary>
    public bool IsRoot => Identity.Id.Length == 0;

    /// <summary>All nodes, the root included.</summary>
    public int Count => 1 + Children.Sum(c => c.Count);

    /// <summary>Builds the W1 tree for N nodes (the root counted), as <see cref="SyntheticTree.Register"/> lays it out.</summary>
    /// <param name="nodes">N, at least 2.</param>
    /// <returns>The root.</returns>
    public static PeerTreeNode Build(int nodes)
    {
        var factory = new WorkerFactory();
        IReadOnlyList<ChildSpec> top = SyntheticTree.Register(factory, nodes);
        var parents = new PeerTreeNode[top.Count];
        for (int p = 0; p < top.Count; p++)
        {
            ChildSpec spec = top[p];
            var identity = new Identity(spec.Name, spec.Name, spec.WorkerType, "");
            var worker = (SyntheticWorker)factory.NewWorker(spec.WorkerType, identity).Worker;
            IReadOnlyList<ChildSpec> declared = worker.DeriveDesiredState(spec.UserSpec).Children ?? [];
            var leaves = new PeerTreeNode[declared.Count];
            for (int c = 0; c < declared.Count; c++)
            {
                string id = $"{spec.Name}/{declared[c].Name}";
                leaves[c] = new PeerTreeNode(new Identity(id, declared[c].Name, declared[c].WorkerType, spec.Name), []);
            }

            parents[p] = new PeerTreeNode(identity, leaves);
        }

        return new PeerTreeNode(new Identity("", "", "root", ""), parents);
    }
}

/// <summary>
/// The synthetic state check one peer node does per tick: <see cref="SyntheticStates.Running"/>'s <c>Next</c> on a
/// prepared snapshot (running, desired <c>active</c>, process observed started), which must say "stay".
/// </summary>
public sealed class SyntheticCheck
{
    private static readonly DesiredState<string> s_desired = new(SyntheticStates.ActiveState, "", shutdownRequested: false, version: 1);
    private readonly Snapshot<SyntheticObserved, string> _snapshot;

    /// <summary>Prepares the snapshot for one node.</summary>
    /// <param name="identity">The node's identity.</param>
    public SyntheticCheck(Identity identity)
        => _snapshot = new Snapshot<SyntheticObserved, string>(
            identity,
            new Observation<SyntheticObserved>(new SyntheticObserved(Started: true, 1, 1), DateTimeOffset.UnixEpoch, 1),
            s_desired,
            children: null,
            DateTimeOffset.UnixEpoch);

    /// <summary>Evaluates the running state once.</summary>
    /// <exception cref="InvalidOperationException">The state did not stay (the snapshot is not a steady one).</exception>
    public void Run()
    {
        Transition<SyntheticObserved, string> transition = SyntheticStates.Running.Instance.Next(in _snapshot);
        if (!ReferenceEquals(transition.NextState, SyntheticStates.Running.Instance) || transition.Action is not null)
        {
            throw new InvalidOperationException($"{_snapshot.Identity.Id}: steady snapshot did not stay running");
        }
    }
}

/// <summary>The tick message of the actor peers; one shared instance.</summary>
public sealed class PeerTick
{
    /// <summary>The instance.</summary>
    public static readonly PeerTick Instance = new();

    private PeerTick()
    {
    }
}

/// <summary>The reply of the actor peers: the sender's subtree has ticked; one shared instance.</summary>
public sealed class PeerDone
{
    /// <summary>The instance.</summary>
    public static readonly PeerDone Instance = new();

    private PeerDone()
    {
    }
}

/// <summary>
/// Akka.NET node of the tree round trip (70-performance §7): on <see cref="PeerTick"/> a worker node runs its
/// <see cref="SyntheticCheck"/>; a leaf replies <see cref="PeerDone"/> to its parent at once, a parent (or the root)
/// sends the tick to every child and replies once all of them have.
/// </summary>
public sealed class AkkaTreeActor : UntypedActor
{
    private readonly SyntheticCheck? _check;
    private readonly IActorRef[] _children;
    private IActorRef _replyTo = ActorRefs.Nobody;
    private int _pending;

    /// <summary>Creates the node and its children's actors.</summary>
    /// <param name="node">The node's place in the tree.</param>
    public AkkaTreeActor(PeerTreeNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        _check = node.IsRoot ? null : new SyntheticCheck(node.Identity);
        _children = new IActorRef[node.Children.Count];
        for (int i = 0; i < _children.Length; i++)
        {
            PeerTreeNode child = node.Children[i];
            _children[i] = Context.ActorOf(Akka.Actor.Props.Create<AkkaTreeActor>(child), child.Identity.Name);
        }
    }

    /// <inheritdoc/>
    protected override void OnReceive(object message)
    {
        if (ReferenceEquals(message, PeerTick.Instance))
        {
            _check?.Run();
            if (_children.Length == 0)
            {
                Sender.Tell(PeerDone.Instance, Self);
                return;
            }

            _replyTo = Sender;
            _pending = _children.Length;
            foreach (IActorRef child in _children)
            {
                child.Tell(PeerTick.Instance, Self);
            }
        }
        else if (ReferenceEquals(message, PeerDone.Instance))
        {
            if (--_pending == 0)
            {
                _replyTo.Tell(PeerDone.Instance, Self);
                _replyTo = ActorRefs.Nobody;
            }
        }
        else
        {
            Unhandled(message);
        }
    }
}

/// <summary>Proto.Actor node of the tree round trip: the same shape and protocol as <see cref="AkkaTreeActor"/>.</summary>
public sealed class ProtoTreeActor : IActor
{
    private readonly PeerTreeNode _node;
    private readonly SyntheticCheck? _check;
    private readonly PID[] _children;
    private PID? _replyTo;
    private int _pending;

    /// <summary>Creates the node; its children are spawned when it starts.</summary>
    /// <param name="node">The node's place in the tree.</param>
    public ProtoTreeActor(PeerTreeNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        _check = node.IsRoot ? null : new SyntheticCheck(node.Identity);
        _children = new PID[node.Children.Count];
    }

    /// <inheritdoc/>
    public Task ReceiveAsync(IContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        object? message = context.Message;
        if (ReferenceEquals(message, PeerTick.Instance))
        {
            _check?.Run();
            if (_children.Length == 0)
            {
                context.Respond(PeerDone.Instance);
                return Task.CompletedTask;
            }

            _replyTo = context.Sender;
            _pending = _children.Length;
            foreach (PID child in _children)
            {
                context.Request(child, PeerTick.Instance);
            }
        }
        else if (ReferenceEquals(message, PeerDone.Instance))
        {
            if (--_pending == 0 && _replyTo is not null)
            {
                context.Send(_replyTo, PeerDone.Instance);
                _replyTo = null;
            }
        }
        else if (message is Started)
        {
            for (int i = 0; i < _children.Length; i++)
            {
                PeerTreeNode child = _node.Children[i];
                _children[i] = context.SpawnNamed(Proto.Props.FromProducer(() => new ProtoTreeActor(child)), child.Identity.Name);
            }
        }

        return Task.CompletedTask;
    }
}
