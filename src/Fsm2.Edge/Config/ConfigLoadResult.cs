using System.Diagnostics.CodeAnalysis;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Config;

/// <summary>The outcome of <see cref="ConfigLoader"/>: the config, or every finding that rejects it.</summary>
/// <param name="Config">The validated config; <see langword="null"/> when any error was found.</param>
/// <param name="Findings">Every error and warning, sorted by line.</param>
/// <param name="RuntimeFailure">
/// <see langword="true"/> when the failure is not the file's fault (a profile directory could not be read): exit code 1.
/// </param>
public sealed record ConfigLoadResult(EdgeConfig? Config, IReadOnlyList<ConfigFinding> Findings, bool RuntimeFailure = false)
{
    /// <summary>Whether the file was accepted (warnings allowed).</summary>
    [MemberNotNullWhen(true, nameof(Config))]
    public bool Succeeded => Config is not null;

    /// <summary>The errors only.</summary>
    public IEnumerable<ConfigFinding> Errors => Findings.Where(static f => f.IsError);
}

/// <summary>What <see cref="ConfigLoader"/> needs besides the file.</summary>
public sealed record ConfigLoadOptions
{
    /// <summary>The worker registry; unknown types are FSM2CFG012. <see langword="null"/> skips the check.</summary>
    public WorkerFactory? Registry { get; init; }

    /// <summary>Where profiles are searched.</summary>
    public ProfileLookup Profiles { get; init; } = new(null, null, AppContext.BaseDirectory);

    /// <summary><c>--profile</c>: wins over <c>runtime.profile</c>.</summary>
    public string? ProfileOverride { get; init; }

    /// <summary><c>--broker</c>: wins over <c>runtime.broker</c>.</summary>
    public string? BrokerOverride { get; init; }

    /// <summary>The profile used when neither the file nor <see cref="ProfileOverride"/> names one; <see langword="null"/> = the architecture's default.</summary>
    public string? DefaultProfile { get; init; }

    /// <summary>The runtime id when the file sets none (the host passes its host name, lower-cased and sanitized).</summary>
    public string DefaultRuntimeId { get; init; } = "fsm2-edge";

    /// <summary>
    /// Desired states per worker type, used to check <c>state</c> and <c>state_mapping</c> (FSM2CFG031, 032). The
    /// built-in pack types (and <c>group</c>) are always <c>active</c>, <c>stopped</c>; a type not listed accepts any
    /// state name, because the registry does not declare states.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> DesiredStates { get; init; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>
    /// Whether the load runs the dry derive of §3.8 (workers created through the registry, <c>DeriveDesiredState</c> run
    /// for every declared entry and every child worker code declares, no collectors or actions). Default
    /// <see langword="true"/>; needs <see cref="Registry"/>. The template checks and the test renders of each entry's
    /// <c>config</c> and named <c>templates</c> (FSM2CFG040–044) need no worker and run either way.
    /// </summary>
    public bool DryDerive { get; init; } = true;

    /// <summary>
    /// The renderer whose parse cache the template checks and test renders use; <see langword="null"/> takes
    /// <see cref="Templating.LiquidRenderer.Shared"/>. <see cref="ConfigWatcher"/> uses the runtime's renderer when this
    /// is <see langword="null"/>, so a config's templates are parsed once, at load, and the runtime's derive finds them
    /// in the cache (20-templating §2.2).
    /// </summary>
    public Templating.LiquidRenderer? Renderer { get; init; }

    /// <summary>Receives <c>profile_loaded</c> and profile warnings; <see langword="null"/> logs nothing (reloads pass none).</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }
}
