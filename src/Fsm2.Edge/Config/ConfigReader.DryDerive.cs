using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Config;

internal sealed partial class ConfigReader
{
    // Nodes the dry derive reached: file entries plus the children worker code declares.
    private int _derivedNodes;

    /// <summary>
    /// §3.8 dry derive: every declared entry's worker is created through the registry and <c>DeriveDesiredState</c> runs
    /// with the variables the runtime would inject (pure; no collectors, actions or MQTT); children that worker code
    /// declares are derived too, down to <c>max_depth</c>. <c>group</c> entries are containers whose children come from
    /// the file, so their file children are derived instead. A derive exception is FSM2CFG042 when it names a missing
    /// variable and FSM2CFG044 otherwise, reported at the entry's <c>config</c> line.
    /// </summary>
    private void DryDerive(IReadOnlyList<WorkerEntry> topLevel, RuntimeSection runtime, IReadOnlyDictionary<string, object?> global)
    {
        var rootUser = new Dictionary<string, object?>(StringComparer.Ordinal) { ["runtime_id"] = runtime.Id };
        foreach (WorkerEntry entry in topLevel)
        {
            DeriveEntry(entry, rootUser, "", global);
        }
    }

    private void DeriveEntry(WorkerEntry entry, IReadOnlyDictionary<string, object?> parentUser, string parentPath, IReadOnlyDictionary<string, object?> global)
    {
        if (_entriesWithErrors.Contains(entry))
        {
            return;
        }

        IReadOnlyDictionary<string, object?> user = VariableBundle.MergeUser(parentUser, entry.Variables);
        if (entry.Type == GroupType)
        {
            _derivedNodes++;
            foreach (WorkerEntry child in entry.Children)
            {
                DeriveEntry(child, user, entry.Path, global);
            }

            return;
        }

        string path = _entryPaths[entry] + ".config";
        DeriveSpec(entry.Type, entry.Name, entry.Path, parentPath, entry.Config ?? "", user, global, entry.Depth, entry, path);
    }

    private void DeriveSpec(
        string type, string name, string nodePath, string parentPath, string config, IReadOnlyDictionary<string, object?> user,
        IReadOnlyDictionary<string, object?> global, int depth, WorkerEntry at, string fieldPath)
    {
        WorkerFactory registry = _options.Registry!; // the caller checked.
        DeriveResult result;
        try
        {
            WorkerHandle handle = registry.Create(type, new Identity(nodePath, name, type, parentPath));
            handle.Initialize();
            var internals = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["id"] = nodePath,
                ["parent_id"] = parentPath,
                ["created_at"] = DateTimeOffset.UnixEpoch,
            };
            result = handle.Derive(new UserSpec(config, new VariableBundle(user, global, internals)));
        }
        catch (InvariantViolationException)
        {
            throw;
        }
        catch (Exception ex)
        {
            int code = ex.Message.Contains("missing variable", StringComparison.OrdinalIgnoreCase)
                ? ConfigCodes.MissingVariable
                : ConfigCodes.RenderedConfigInvalid;
            Error(at.ConfigLine > 0 ? at.ConfigLine : at.Line, 1, code, fieldPath, $"dry derive of {nodePath} failed: {ex.Message}");
            return;
        }

        _derivedNodes++;
        if (result.Children is not { Count: > 0 } children || depth >= 64)
        {
            return;
        }

        foreach (ChildSpec child in children)
        {
            IReadOnlyDictionary<string, object?> childUser = VariableBundle.MergeUser(user, child.UserSpec.Variables.User);
            DeriveSpec(child.WorkerType, child.Name, nodePath + "/" + child.Name, nodePath, child.UserSpec.Config, childUser, global, depth + 1, at,
                $"{fieldPath[..fieldPath.LastIndexOf('.')]}.<derived {child.Name}>");
        }
    }
}
