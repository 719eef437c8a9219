namespace Fsm2.Edge.Workers;

/// <summary>
/// An injectable registry (one per runtime) that creates workers by type name. Registration is thread-safe; lookups
/// are O(1) and lock-free: writers replace an immutable dictionary atomically.
/// </summary>
public sealed class WorkerFactory
{
    // Owner: writers under _writeLock; readers take the reference with a volatile read and never see it change.
    private volatile Dictionary<string, WorkerRegistration> _registrations = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();
    private long _version;

    /// <summary>Increments on every registration; the tick uses it to retry creations that failed on an unknown type.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Registers a worker type.</summary>
    /// <typeparam name="TObserved">The worker's observation type.</typeparam>
    /// <typeparam name="TDesired">The worker's typed configuration.</typeparam>
    /// <param name="workerType">The factory key.</param>
    /// <param name="create">Builds a new worker for an identity; called once per worker instance.</param>
    /// <param name="options">Per type settings.</param>
    /// <exception cref="ArgumentException"><paramref name="workerType"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="create"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The type is already registered.</exception>
    public void Register<TObserved, TDesired>(
        string workerType,
        Func<Identity, IWorker<TObserved, TDesired>> create,
        WorkerTypeOptions? options = null)
        where TObserved : class
    {
        if (string.IsNullOrEmpty(workerType))
        {
            throw new ArgumentException("worker type cannot be empty", nameof(workerType));
        }

        ArgumentNullException.ThrowIfNull(create);
        var registration = new WorkerRegistration<TObserved, TDesired>(workerType, create, options ?? new WorkerTypeOptions());
        lock (_writeLock)
        {
            if (_registrations.ContainsKey(workerType))
            {
                throw new InvalidOperationException($"worker type already registered: {workerType}");
            }

            var next = new Dictionary<string, WorkerRegistration>(_registrations, StringComparer.Ordinal) { [workerType] = registration };
            _registrations = next;
            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>Creates a new worker instance of <paramref name="workerType"/> for <paramref name="identity"/>.</summary>
    /// <param name="workerType">The factory key.</param>
    /// <param name="identity">The identity to construct the worker with.</param>
    /// <returns>A handle over the new instance.</returns>
    /// <exception cref="ArgumentException">The type is empty or not registered.</exception>
    public IWorkerHandle NewWorker(string workerType, Identity identity) => Create(workerType, identity);

    /// <summary>The registered types; a copy, empty when nothing is registered.</summary>
    /// <returns>The type names, sorted ordinally.</returns>
    public IReadOnlyList<string> ListRegisteredTypes()
    {
        var names = new List<string>(_registrations.Keys);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Whether <paramref name="workerType"/> is registered.</summary>
    /// <param name="workerType">The factory key.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool IsRegistered(string workerType) => workerType is not null && _registrations.ContainsKey(workerType);

    internal WorkerHandle Create(string workerType, Identity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (string.IsNullOrEmpty(workerType))
        {
            throw new ArgumentException("worker type cannot be empty", nameof(workerType));
        }

        if (!_registrations.TryGetValue(workerType, out WorkerRegistration? registration))
        {
            throw new ArgumentException($"unknown worker type: {workerType}", nameof(workerType));
        }

        return registration.Create(identity);
    }

    private abstract class WorkerRegistration
    {
        public abstract WorkerHandle Create(Identity identity);
    }

    private sealed class WorkerRegistration<TObserved, TDesired>(
        string workerType,
        Func<Identity, IWorker<TObserved, TDesired>> create,
        WorkerTypeOptions options) : WorkerRegistration
        where TObserved : class
    {
        public override WorkerHandle Create(Identity identity)
        {
            IWorker<TObserved, TDesired> worker = create(identity)
                ?? throw new InvalidOperationException($"the constructor of worker type '{workerType}' returned null");
            return new WorkerHandle<TObserved, TDesired>(identity, worker, options);
        }
    }
}
