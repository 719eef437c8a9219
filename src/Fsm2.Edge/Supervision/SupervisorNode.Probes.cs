using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Observability;

namespace Fsm2.Edge.Supervision;

/// <summary>
/// The probes attached to one node (30-supervision §10.4): the worker type's defaults plus the node's
/// <see cref="Workers.ChildSpec.Probes"/>. Attached on the node's first supervised tick and re-attached when the
/// declared list changes structurally; they keep running while breakers are open and across restarts, and stop when
/// the node is finalized.
/// </summary>
public sealed partial class SupervisorNode
{
    // Owner: tick thread. Cold side table: the running probes and what they were built from.
    private ProbeHandle[] _probes = [];
    private IReadOnlyList<ProbeSpec>? _probeSource;
    private ProbeSpec[] _attachedSpecs = [];
    private bool _probesResolved;

    /// <summary>The ids of the probes attached to this node, in declaration order (type defaults first).</summary>
    public IReadOnlyList<string> ProbeIds
    {
        get
        {
            var ids = new string[_probes.Length];
            for (int i = 0; i < ids.Length; i++)
            {
                ids[i] = _probes[i].Id;
            }

            return ids;
        }
    }

    internal ReadOnlySpan<ProbeHandle> ProbeHandles => _probes;

    /// <summary>Attaches the declared probes when the declaration changed (a reference compare in steady state).</summary>
    private void EnsureProbes(DateTimeOffset now)
    {
        if (_probesResolved && ReferenceEquals(_spec.Probes, _probeSource))
        {
            return;
        }

        bool first = !_probesResolved;
        _probesResolved = true;
        _probeSource = _spec.Probes;
        ProbeSpec[] wanted = ResolveProbeSpecs(out List<string>? errors);
        if (!first && SameSpecs(wanted, _attachedSpecs))
        {
            // A structurally equal declaration: the same probes keep running, and its errors are already shown.
            return;
        }

        DetachProbes();
        var handles = new List<ProbeHandle>(wanted.Length);
        foreach (ProbeSpec spec in wanted)
        {
            if (TryAttach(spec, handles) is { } error)
            {
                (errors ??= []).Add(error);
            }
        }

        // An entry that failed to attach is retried only when the declaration changes.
        _probes = [.. handles];
        _attachedSpecs = wanted;
        if (errors is null)
        {
            ClearError(ErrorSource.Probe);
        }
        else
        {
            SetError(ErrorSource.Probe, string.Join("; ", errors), now, PanicClass.Config);
        }

        _runtime.MarkStatusDirty();
    }

    /// <summary>Type defaults (with node-scoped ids) then the node's own entries, defaults applied; invalid ones reported.</summary>
    private ProbeSpec[] ResolveProbeSpecs(out List<string>? errors)
    {
        errors = null;
        IReadOnlyList<ProbeSpec>? defaults = _worker?.Options.DefaultProbes;
        IReadOnlyList<ProbeSpec>? own = _spec.Probes;
        int count = (defaults?.Count ?? 0) + (own?.Count ?? 0);
        if (count == 0)
        {
            return [];
        }

        var result = new List<ProbeSpec>(count);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        string scope = Path.Replace('/', '.').Replace(':', '.');
        for (int i = 0; i < count; i++)
        {
            bool isDefault = i < (defaults?.Count ?? 0);
            ProbeSpec? spec = isDefault ? defaults![i] : own![i - (defaults?.Count ?? 0)]; // i is within the list it indexes.
            string field = isDefault ? $"default probe [{i}] of worker type '{WorkerType}'" : $"probes[{i - (defaults?.Count ?? 0)}]";
            if (spec is null)
            {
                (errors ??= []).Add($"{field}: must not be null");
                continue;
            }

            RuntimeOptions options = _runtime.Options;
            ProbeSpec resolved = spec with
            {
                Id = isDefault ? $"{scope}.{spec.Id}" : spec.Id,
                Interval = spec.Interval == TimeSpan.Zero ? options.ProbeInterval : spec.Interval,
                Timeout = spec.Timeout == TimeSpan.Zero ? options.ProbeTimeout : spec.Timeout,
                MissThreshold = spec.MissThreshold == 0 ? options.ProbeMissThreshold : spec.MissThreshold,
            };

            string? error = Validate(resolved);
            if (error is null && !ids.Add(resolved.Id))
            {
                error = $"duplicate probe id '{resolved.Id}'";
            }

            if (error is not null)
            {
                (errors ??= []).Add($"{field}: {error}");
                Log.ProbeInvalid(_runtime.SupervisionLogger, Path, resolved.Id ?? "", error);
                continue;
            }

            result.Add(resolved);
        }

        return [.. result];
    }

    private string? Validate(ProbeSpec spec)
    {
        if (!ProbeSpec.IsValidId(spec.Id))
        {
            return $"id '{spec.Id}' must match [A-Za-z0-9_.-]{{1,64}}";
        }

        if (string.IsNullOrEmpty(spec.Type) || !_runtime.Probes.IsRegistered(spec.Type))
        {
            return $"probe '{spec.Id}': unknown type '{spec.Type}'";
        }

        if (string.IsNullOrWhiteSpace(spec.Target))
        {
            return $"probe '{spec.Id}': target must not be empty";
        }

        if (spec.Interval < TimeSpan.Zero || spec.Timeout < TimeSpan.Zero || spec.Timeout >= spec.Interval)
        {
            return $"probe '{spec.Id}': timeout ({spec.Timeout}) must be positive and below the interval ({spec.Interval})";
        }

        if (spec.MissThreshold < 1)
        {
            return $"probe '{spec.Id}': miss threshold must be at least 1 (was {spec.MissThreshold})";
        }

        return null;
    }

    /// <summary>Creates and starts one probe; returns the configuration error instead when it cannot.</summary>
    private string? TryAttach(ProbeSpec spec, List<ProbeHandle> handles)
    {
        if (_runtime.ProbeOwners.TryGetValue(spec.Id, out string? owner) && !string.Equals(owner, Path, StringComparison.Ordinal))
        {
            string message = $"probe id '{spec.Id}' is already attached to node '{owner}'";
            Log.ProbeInvalid(_runtime.SupervisionLogger, Path, spec.Id, message);
            return message;
        }

        IInfrastructureProbe probe;
        try
        {
            probe = _runtime.Probes.Create(spec, _runtime.Time);
        }
        catch (Exception ex) when (ex is not Workers.InvariantViolationException)
        {
            Log.ProbeInvalid(_runtime.SupervisionLogger, Path, spec.Id, ex.Message);
            return ex.Message;
        }

        _runtime.ProbeOwners[spec.Id] = Path;
        handles.Add(_runtime.ProbeScheduler.Attach(probe, Path));
        Log.ProbeAttached(_runtime.SupervisionLogger, Path, spec.Id, spec.Type, spec.Target);
        return null;
    }

    /// <summary>Stops every probe of this node (finalization, or a changed declaration).</summary>
    private void DetachProbes()
    {
        foreach (ProbeHandle handle in _probes)
        {
            _runtime.ProbeScheduler.Detach(handle);
            if (_runtime.ProbeOwners.TryGetValue(handle.Id, out string? owner) && string.Equals(owner, Path, StringComparison.Ordinal))
            {
                _runtime.ProbeOwners.Remove(handle.Id);
            }
        }

        _probes = [];
        _attachedSpecs = [];
    }

    private static bool SameSpecs(ProbeSpec[] a, ProbeSpec[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if (!a[i].Equals(b[i]))
            {
                return false;
            }
        }

        return true;
    }
}
