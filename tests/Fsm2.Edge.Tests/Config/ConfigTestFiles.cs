using System.Text.Json.Nodes;
using Fsm2.Edge.Config;

namespace Fsm2.Edge.Tests.Config;

/// <summary>A temporary directory with helpers for profile and config files; deleted on dispose.</summary>
public sealed class ConfigTestFiles : IDisposable
{
    public ConfigTestFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "fsm2-config-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    /// <summary>The shipped profiles, copied next to the test assembly.</summary>
    public static string ShippedProfiles => Path.Combine(AppContext.BaseDirectory, "hw-profiles");

    public static ProfileLookup ShippedLookup => ProfileLookup.InDirectory(ShippedProfiles);

    public string Write(string name, string text)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Writes a copy of a shipped profile with <paramref name="edit"/> applied to its JSON.</summary>
    public string WriteProfile(string name, Action<JsonObject> edit, string basedOn = "arm64-gateway")
    {
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(ShippedProfiles, basedOn + ".json")))!;
        json["name"] = name;
        edit(json);
        return Write(name + ".json", json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a watcher may still hold the directory for a moment.
        }
    }
}
