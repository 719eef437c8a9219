using System.Text;

namespace Fsm2.Edge.Config;

/// <summary>
/// Loads and validates a configuration file (50-runtime-monitoring §3) in one pipeline that collects every finding:
/// YAML parse → schema (keys, types, ranges, enums) → names and tree shape → location → templates → probes → profile
/// → dry derive. Used by <c>validate</c>, by <c>run</c> at start-up and by every hot reload.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Reads and validates <paramref name="path"/>.</summary>
    /// <param name="path">The file, as the user named it (findings repeat it verbatim).</param>
    /// <param name="options">Registry, profile lookup and overrides.</param>
    /// <returns>The config, or the findings.</returns>
    public static ConfigLoadResult LoadFile(string path, ConfigLoadOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            string reason = ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "permission denied",
                _ => ex.Message,
            };
            return new ConfigLoadResult(null,
                [new ConfigFinding(path, 0, 0, FindingSeverity.Error, ConfigCodes.Unreadable, "", $"cannot read {path}: {reason}")]);
        }

        return Parse(bytes, path, options);
    }

    /// <summary>Validates YAML text (tests, and the demo's built-in config).</summary>
    /// <param name="text">The YAML text.</param>
    /// <param name="file">The name findings carry.</param>
    /// <param name="options">Registry, profile lookup and overrides.</param>
    /// <returns>The config, or the findings.</returns>
    public static ConfigLoadResult Parse(string text, string file, ConfigLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Parse(Encoding.UTF8.GetBytes(text), file, options);
    }

    /// <summary>
    /// The restart-only <c>runtime:</c> fields (§3.2) whose value differs between two configs, as
    /// <c>runtime.&lt;key&gt;</c>; empty when a reload can apply everything.
    /// </summary>
    /// <param name="running">The config the runtime started with.</param>
    /// <param name="next">The reloaded config.</param>
    /// <returns>The changed restart-only fields, sorted.</returns>
    public static IReadOnlyList<string> RestartOnlyChanges(EdgeConfig running, EdgeConfig next)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(next);
        var changed = new List<string>();
        foreach (string key in ConfigReader.RestartOnlyRuntimeKeys)
        {
            string? a = running.Runtime.CanonicalKeys.GetValueOrDefault(key);
            string? b = next.Runtime.CanonicalKeys.GetValueOrDefault(key);
            if (!string.Equals(a, b, StringComparison.Ordinal))
            {
                changed.Add("runtime." + key);
            }
        }

        changed.Sort(StringComparer.Ordinal);
        return changed;
    }

    private static ConfigLoadResult Parse(byte[] bytes, string file, ConfigLoadOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        ArgumentNullException.ThrowIfNull(options);
        var reader = new ConfigReader(file, bytes, options);
        return reader.Read();
    }
}
