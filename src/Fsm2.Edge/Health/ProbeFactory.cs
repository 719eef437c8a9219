using Fsm2.Edge.Health.Probes;

namespace Fsm2.Edge.Health;

/// <summary>
/// The runtime's registry of probe types (30-supervision §10.4), keyed by <see cref="ProbeSpec.Type"/>. <c>tcp</c>
/// (<see cref="TcpConnectProbe"/>) is built in; Fsm2.Edge.Mqtt registers <c>mqtt</c> through <see cref="Register"/>.
/// Registration is thread-safe; lookups are lock-free (writers replace an immutable dictionary atomically).
/// </summary>
public sealed class ProbeFactory
{
    /// <summary>The built-in TCP connect probe type.</summary>
    public const string TcpType = "tcp";

    private readonly Lock _writeLock = new();
    private volatile Dictionary<string, Func<ProbeSpec, TimeProvider, IInfrastructureProbe>> _types = new(StringComparer.Ordinal);

    /// <summary>Creates a registry with the built-in <c>tcp</c> type.</summary>
    public ProbeFactory()
    {
        Register(TcpType, static (spec, time) => TcpConnectProbe.Create(spec, time));
    }

    /// <summary>Registers a probe type.</summary>
    /// <param name="type">The key used in <see cref="ProbeSpec.Type"/>.</param>
    /// <param name="create">
    /// Builds a probe from a spec whose interval, timeout and threshold already carry the runtime defaults. Throw
    /// <see cref="ConfigException"/> for an invalid target: it becomes a configuration error of the node.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="type"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="create"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The type is already registered.</exception>
    public void Register(string type, Func<ProbeSpec, TimeProvider, IInfrastructureProbe> create)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(create);
        lock (_writeLock)
        {
            if (_types.ContainsKey(type))
            {
                throw new InvalidOperationException($"probe type already registered: {type}");
            }

            _types = new Dictionary<string, Func<ProbeSpec, TimeProvider, IInfrastructureProbe>>(_types, StringComparer.Ordinal) { [type] = create };
        }
    }

    /// <summary>Whether <paramref name="type"/> is registered.</summary>
    /// <param name="type">The probe type.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool IsRegistered(string type) => type is not null && _types.ContainsKey(type);

    /// <summary>Creates a probe; a configuration problem throws <see cref="ConfigException"/> naming the field.</summary>
    internal IInfrastructureProbe Create(ProbeSpec spec, TimeProvider time)
    {
        if (!_types.TryGetValue(spec.Type ?? "", out Func<ProbeSpec, TimeProvider, IInfrastructureProbe>? create))
        {
            throw new ConfigException($"probe '{spec.Id}': unknown type '{spec.Type}'");
        }

        IInfrastructureProbe probe = create(spec, time) ?? throw new ConfigException($"probe '{spec.Id}': the factory of type '{spec.Type}' returned null");
        return probe;
    }
}
