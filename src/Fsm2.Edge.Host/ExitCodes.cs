namespace Fsm2.Edge.Host;

/// <summary>The exit codes of <c>fsm2-edge</c> (50-runtime-monitoring §2.2); <c>--help</c> and the README list them.</summary>
internal static class ExitCodes
{
    /// <summary>Success; for <c>run</c> and <c>demo</c>: the tree drained within the shutdown budget.</summary>
    public const int Success = 0;

    /// <summary>Runtime failure: unreadable profile directory, unexpected host exception.</summary>
    public const int RuntimeFailure = 1;

    /// <summary>Usage error, invalid configuration, unknown or invalid profile.</summary>
    public const int UsageOrConfig = 2;

    /// <summary>Shutdown not clean: nodes were force-finalized, or a second signal forced the exit.</summary>
    public const int UncleanShutdown = 3;

    /// <summary><c>calibrate</c> verdict FAIL.</summary>
    public const int CalibrationFailed = 4;

    /// <summary>Invariant violation (fail fast).</summary>
    public const int InvariantViolation = 70;

    /// <summary>The text <c>--help</c> prints.</summary>
    public const string HelpText = """
        Exit codes:
          0   success; run/demo: the tree drained within the shutdown budget
          1   runtime failure (unreadable profile directory, unexpected host exception)
          2   usage error, invalid configuration, unknown or invalid profile
          3   shutdown not clean (nodes force-finalized, or a second signal forced the exit)
          4   calibrate verdict FAIL
          70  invariant violation
        """;
}
