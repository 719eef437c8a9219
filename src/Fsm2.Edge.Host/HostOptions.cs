namespace Fsm2.Edge.Host;

/// <summary>What <c>run</c> was asked to do; <see cref="EdgeHost.RunAsync"/> needs nothing else.</summary>
internal sealed record HostOptions
{
    /// <summary>The configuration file; with <see cref="ConfigText"/> only the name findings and logs carry.</summary>
    public required string ConfigFile { get; init; }

    /// <summary>
    /// A built-in configuration (the <c>demo</c>'s): parsed instead of reading <see cref="ConfigFile"/>, and never
    /// hot-reloaded, since there is no file to watch.
    /// </summary>
    public string? ConfigText { get; init; }

    /// <summary>
    /// Called once the runtime has started (after <c>runtime_started</c>), on the host's thread; it must return
    /// promptly. The <c>demo</c> uses it to read the runtime's published status and metrics for its table.
    /// </summary>
    public Action<HostStarted>? Started { get; init; }

    /// <summary><c>--profile</c>: name or <c>.json</c> path; wins over <c>runtime.profile</c>.</summary>
    public string? Profile { get; init; }

    /// <summary><c>--profiles-dir</c>.</summary>
    public string? ProfilesDirectory { get; init; }

    /// <summary><c>--broker</c>: wins over <c>runtime.broker</c>.</summary>
    public string? Broker { get; init; }

    /// <summary><c>--no-watch</c>: no hot reload.</summary>
    public bool NoWatch { get; init; }

    /// <summary><c>--log-level</c>; <see langword="null"/> takes <c>runtime.log_level</c>.</summary>
    public string? LogLevel { get; init; }

    /// <summary><c>--log-format</c>: <c>console</c> (default) or <c>json</c>.</summary>
    public string LogFormat { get; init; } = "console";

    /// <summary>The clock (tests may pass a fake one).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where logs and messages go.</summary>
    public TextWriter Out { get; init; } = Console.Out;

    /// <summary>Where findings and errors go.</summary>
    public TextWriter Error { get; init; } = Console.Error;
}
