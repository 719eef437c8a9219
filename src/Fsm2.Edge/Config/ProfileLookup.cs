namespace Fsm2.Edge.Config;

/// <summary>
/// Where <see cref="HardwareProfileLoader"/> looks for <c>NAME.json</c> (50-runtime-monitoring §11.1), in this order:
/// <see cref="ProfilesDirectory"/> (<c>--profiles-dir</c>), <see cref="EnvironmentDirectory"/>
/// (<c>$FSM2_EDGE_PROFILES_DIR</c>), then <c>&lt;app dir&gt;/hw-profiles</c>. The first directory holding the file wins.
/// </summary>
/// <param name="ProfilesDirectory">The <c>--profiles-dir</c> option, or <see langword="null"/>.</param>
/// <param name="EnvironmentDirectory">The value of <c>FSM2_EDGE_PROFILES_DIR</c>, or <see langword="null"/>.</param>
/// <param name="AppDirectory">The host's folder; its <c>hw-profiles</c> sub-folder is the last place searched.</param>
public sealed record ProfileLookup(string? ProfilesDirectory, string? EnvironmentDirectory, string AppDirectory)
{
    /// <summary>The environment variable that names a profile directory.</summary>
    public const string EnvironmentVariable = "FSM2_EDGE_PROFILES_DIR";

    /// <summary>A lookup that searches only <paramref name="directory"/> (tests, tools).</summary>
    /// <param name="directory">The directory holding the profile files.</param>
    /// <returns>The lookup.</returns>
    public static ProfileLookup InDirectory(string directory) => new(directory, null, Path.GetDirectoryName(directory) ?? directory);

    /// <summary>The directories searched, in order, without duplicates and without empty values.</summary>
    /// <returns>Full paths.</returns>
    public IReadOnlyList<string> SearchDirectories()
    {
        var result = new List<string>(3);
        Add(ProfilesDirectory);
        Add(EnvironmentDirectory);
        Add(Path.Combine(AppDirectory, "hw-profiles"));
        return result;

        void Add(string? directory)
        {
            if (!string.IsNullOrWhiteSpace(directory))
            {
                string full = Path.GetFullPath(directory);
                if (!result.Contains(full, StringComparer.Ordinal))
                {
                    result.Add(full);
                }
            }
        }
    }
}
