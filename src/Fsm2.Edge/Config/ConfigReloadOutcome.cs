namespace Fsm2.Edge.Config;

/// <summary>What one reload did.</summary>
public enum ConfigReloadKind
{
    /// <summary>A valid change was handed to the runtime; the generation was incremented.</summary>
    Applied,

    /// <summary>The file had errors; the running config, its generation and every node are untouched.</summary>
    Rejected,

    /// <summary>The bytes, or the canonical content, equal the running config; nothing was touched.</summary>
    Unchanged,
}

/// <summary>How many declared nodes a reload added, updated, replaced, removed or left alone (file entries only).</summary>
/// <param name="Added">New node paths.</param>
/// <param name="Updated">Same path and type, changed fields.</param>
/// <param name="Replaced">Same path, different type.</param>
/// <param name="Removed">Paths no longer declared.</param>
/// <param name="Unchanged">Paths whose entry did not change.</param>
public sealed record ConfigChangeCounts(int Added, int Updated, int Replaced, int Removed, int Unchanged);

/// <summary>The outcome of one reload, raised by <see cref="ConfigWatcher.Reloaded"/>.</summary>
/// <param name="Kind">Applied, rejected or unchanged.</param>
/// <param name="Generation">The generation running after the reload.</param>
/// <param name="Findings">Every finding of the file (errors when rejected, warnings otherwise).</param>
/// <param name="RestartRequiredFields">Restart-only fields that changed and were not applied (FSM2CFG060).</param>
/// <param name="Changes">Node counts when applied; <see langword="null"/> otherwise.</param>
public sealed record ConfigReloadOutcome(
    ConfigReloadKind Kind,
    long Generation,
    IReadOnlyList<ConfigFinding> Findings,
    IReadOnlyList<string> RestartRequiredFields,
    ConfigChangeCounts? Changes);

/// <summary>The last rejected reload, kept for the status topic until a valid save clears it.</summary>
/// <param name="ContentHash">The rejected file's content hash.</param>
/// <param name="Findings">Its findings.</param>
public sealed record ConfigReloadError(string ContentHash, IReadOnlyList<ConfigFinding> Findings)
{
    /// <summary>The errors, one per line, as <c>validate</c> prints them.</summary>
    public string Message => string.Join("\n", Findings.Where(static f => f.IsError));
}
