namespace Fsm2.Edge.Host.Demo;

/// <summary>What <c>fsm2-edge demo</c> was asked to do (50-runtime-monitoring §2.1).</summary>
internal sealed record DemoOptions
{
    /// <summary>The fewest simulated devices <c>--devices</c> accepts.</summary>
    public const int MinDevices = 1;

    /// <summary>
    /// The most simulated devices <c>--devices</c> accepts: 50 (§2.1), which keeps the table on one screen page per
    /// area and the simulators' ports (15021–15070) in one contiguous block.
    /// </summary>
    public const int MaxDevices = 50;

    /// <summary><c>--port</c>: the embedded broker's port; 0 picks free ports for the broker and the simulators.</summary>
    public int Port { get; init; } = 1883;

    /// <summary><c>--devices</c>: simulated devices, and as many protocol converters.</summary>
    public int Devices { get; init; } = 3;

    /// <summary><c>--duration</c>: shut down gracefully after this long; <see langword="null"/> runs until Ctrl+C.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary><c>--plain</c>: print the table every 5 s without escape codes, even on a terminal.</summary>
    public bool Plain { get; init; }

    /// <summary><c>--faults</c>: stop one simulator for 10 s every 30 s, in turn.</summary>
    public bool Faults { get; init; }

    /// <summary><c>--print-config</c>: print the built-in YAML and exit 0.</summary>
    public bool PrintConfig { get; init; }

    /// <summary><c>--profile</c>: hardware profile name or path; the architecture's default when <see langword="null"/>.</summary>
    public string? Profile { get; init; }
}
