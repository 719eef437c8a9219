using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Config;

internal sealed partial class ConfigReader
{
    // Nodes the dry derive reached: file entries plus the children worker code declares.
    private int _derivedNodes;

    /// <summary>
    /// §3.8 dry derive. For every file entry without a finding, the node's scope is built exactly as the runtime builds
    /// it (User merged over the parent's, the config <c>global:</c>, Internal <c>id</c>/<c>parent_id</c> with
    /// <c>created_at</c> at the Unix epoch, and the location merged by <see cref="IsaLocation.Merge"/> from
    /// <c>runtime.location</c> down); its <c>config</c> is test-rendered with the runtime's renderer and its named
    /// <c>templates</c> with <c>tag</c> and <c>topic</c> set to <c>_probe</c>. Then, with
    /// <see cref="ConfigLoadOptions.DryDerive"/> and a registry, the worker is created and <c>DeriveDesiredState</c> runs
    /// on the rendered spec (pure; no collectors, actions or MQTT), and the children worker code declares are rendered
    /// and derived the same way. <c>group</c> entries are containers whose file children are derived instead.
    /// </summary>
    private void DryDerive(IReadOnlyList<WorkerEntry> topLevel, RuntimeSection runtime, IReadOnlyDictionary<string, object?> global)
    {
        var rootUser = new Dictionary<string, object?>(StringComparer.Ordinal) { ["runtime_id"] = runtime.Id };
        foreach (WorkerEntry entry in topLevel)
        {
            DeriveEntry(entry, rootUser, "", runtime.Location, global);
        }
    }

    private void DeriveEntry(
        WorkerEntry entry, IReadOnlyDictionary<string, object?> parentUser, string parentPath, IsaLocation parentLocation,
        IReadOnlyDictionary<string, object?> global)
    {
        if (_entriesWithErrors.Contains(entry))
        {
            return;
        }

        IReadOnlyDictionary<string, object?> user = VariableBundle.MergeUser(parentUser, entry.Variables);
        IsaLocation location = IsaLocation.Merge(parentLocation, entry.Location);
        string fieldPath = _entryPaths[entry];
        RenderScope scope;
        try
        {
            scope = RenderScope.Create(user, global, Internals(entry.Path, parentPath), location);
        }
        catch (VariableValueException ex)
        {
            Error(entry.Line, entry.Column, ConfigCodes.InvalidVariableKey, fieldPath + ".variables", ex.Message);
            return;
        }

        TemplateSources? sources = _templateSources.GetValueOrDefault(entry);
        bool ok = true;
        foreach ((string name, string text) in entry.Templates)
        {
            YScalar? at = sources?.Named.GetValueOrDefault(name);
            RenderScope probe = scope.With(new Dictionary<string, object?>(StringComparer.Ordinal) { ["tag"] = ProbeValue, ["topic"] = ProbeValue });
            ok &= TestRender(at, at?.Line ?? entry.Line, text, probe, fieldPath + ".templates." + name,
                "test render with tag and topic set to '_probe'") is not null;
        }

        bool deriveWorkers = _options.DryDerive && _options.Registry is not null;
        if (entry.Type == GroupType)
        {
            if (deriveWorkers)
            {
                _derivedNodes++;
            }

            if (!ok)
            {
                return;
            }

            foreach (WorkerEntry child in entry.Children)
            {
                DeriveEntry(child, user, entry.Path, location, global);
            }

            return;
        }

        string template = entry.Config ?? "";
        string? rendered = TestRender(sources?.Config, entry.ConfigLine > 0 ? entry.ConfigLine : entry.Line, template, scope, fieldPath + ".config", null);
        if (rendered is null || !ok)
        {
            return;
        }

        if (!deriveWorkers)
        {
            return; // templates were checked and test-rendered; no worker is created (DryDerivedNodeCount stays 0).
        }

        var spec = new UserSpec(rendered, new VariableBundle(user, global, Internals(entry.Path, parentPath)), template, scope, _renderer);
        DeriveSpec(entry.Type, entry.Name, entry.Path, parentPath, spec, user, location, global, entry.Depth, entry, fieldPath + ".config");
    }

    private void DeriveSpec(
        string type, string name, string nodePath, string parentPath, UserSpec spec, IReadOnlyDictionary<string, object?> user,
        IsaLocation location, IReadOnlyDictionary<string, object?> global, int depth, WorkerEntry at, string fieldPath)
    {
        WorkerFactory registry = _options.Registry!; // the caller checked.
        int line = at.ConfigLine > 0 ? at.ConfigLine : at.Line;
        DeriveResult result;
        try
        {
            WorkerHandle handle = registry.Create(type, new Identity(nodePath, name, type, parentPath));
            handle.Initialize();
            result = handle.Derive(spec);
        }
        catch (InvariantViolationException)
        {
            throw;
        }
        catch (TemplateException ex)
        {
            // The worker rendered a further template of its own (20-templating §2.1).
            ReportRenderFailure(ex, null, line, spec.Template, fieldPath, $"dry derive of {nodePath}");
            return;
        }
        catch (Exception ex)
        {
            int code = ex.Message.Contains("missing variable", StringComparison.OrdinalIgnoreCase)
                ? ConfigCodes.MissingVariable
                : ConfigCodes.RenderedConfigInvalid;
            Error(line, 1, code, fieldPath, $"dry derive of {nodePath} failed: {ex.Message}");
            return;
        }

        _derivedNodes++;
        if (result.Children is not { Count: > 0 } children || depth >= 64)
        {
            return;
        }

        foreach (ChildSpec child in children)
        {
            string childPath = nodePath + "/" + child.Name;
            string childField = $"{fieldPath[..fieldPath.LastIndexOf('.')]}.<derived {child.Name}>";
            IReadOnlyDictionary<string, object?> childUser = VariableBundle.MergeUser(user, child.UserSpec.Variables.User);
            IsaLocation childLocation = IsaLocation.Merge(location, child.Location);
            IReadOnlyDictionary<string, object?> internals = Internals(childPath, nodePath);
            UserSpec childSpec;
            try
            {
                // A code-declared child follows the runtime's rules: its merged location must have an enterprise
                // (20-templating §3.2), and its config is rendered unless declared literal.
                childLocation.Validate(childPath);
                RenderScope scope = RenderScope.Create(childUser, global, internals, childLocation);
                string template = child.UserSpec.Config;
                string rendered = child.ConfigIsLiteral ? template : _renderer.Render(template, scope);
                childSpec = new UserSpec(rendered, new VariableBundle(childUser, global, internals), template, scope, _renderer);
            }
            catch (TemplateException ex)
            {
                ReportRenderFailure(ex, null, line, child.UserSpec.Config, childField, $"child {childPath} declared by {type}");
                continue;
            }
            catch (VariableValueException ex)
            {
                Error(line, 1, ConfigCodes.RenderedConfigInvalid, childField, $"child {childPath} declared by {type}: {ex.Message}");
                continue;
            }

            DeriveSpec(child.WorkerType, child.Name, childPath, nodePath, childSpec, childUser, childLocation, global, depth + 1, at, childField);
        }
    }

    private static Dictionary<string, object?> Internals(string nodePath, string parentPath) => new(StringComparer.Ordinal)
    {
        ["id"] = nodePath,
        ["parent_id"] = parentPath,
        ["created_at"] = DateTimeOffset.UnixEpoch,
    };
}
