using System.Diagnostics.CodeAnalysis;

namespace Fsm2.Edge.Config;

/// <summary>The outcome of loading a hardware profile: the profile, or the findings that reject it (plus warnings).</summary>
/// <param name="Profile">The validated profile; <see langword="null"/> when an error was found.</param>
/// <param name="Findings">Errors (codes 050, 051) and warnings (051, severity warning), in file order.</param>
/// <param name="DirectoryUnreadable">
/// <see langword="true"/> when a profile directory exists but could not be read: a runtime failure (exit code 1), not
/// a configuration error.
/// </param>
public sealed record ProfileLoadResult(HardwareProfile? Profile, IReadOnlyList<ConfigFinding> Findings, bool DirectoryUnreadable = false)
{
    /// <summary>Whether the profile loaded (warnings allowed).</summary>
    [MemberNotNullWhen(true, nameof(Profile))]
    public bool Succeeded => Profile is not null;
}
