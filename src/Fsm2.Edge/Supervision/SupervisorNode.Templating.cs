using Fsm2.Edge.Observability;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Supervision;

public sealed partial class SupervisorNode
{
    // Owner: tick thread. The merged location and its version (part of every child's derive key, §1.9).
    private IsaLocation _effectiveLocation = IsaLocation.None;
    private long _locationVersion;
    private long _memoParentLocationVersion = -1;

    // Owner: tick thread. Cold templating state (scope, parsed config, counters), allocated at the first derive so a
    // node's hot fields stay compact.
    private TemplatingState? _templating;

    /// <summary>The node's effective ISA-95 location: its own levels merged over its parent's (20-templating §3.2).</summary>
    public IsaLocation EffectiveLocation => _effectiveLocation;

    /// <summary>The node's <c>location_path</c> (<c>ACME.Factory-1.Line-A</c>; <c>""</c> without a location).</summary>
    public string LocationPath => _templating?.Scope?.LocationPath ?? _effectiveLocation.Path;

    /// <summary>
    /// The render scope of the node's latest derive attempt (immutable; safe to hand to other threads), or
    /// <see langword="null"/> before the first derive.
    /// </summary>
    public RenderScope? Scope => _templating?.Scope;

    /// <summary>How many times this node rendered its config template (failed renders included).</summary>
    public long TemplateRenderCount => _templating?.Renders ?? 0;

    private long ParentLocationVersion => _parent?._locationVersion ?? _runtime.BaseLocationVersion;

    /// <summary>
    /// Builds the injected spec (10-core-hierarchy §2.3) and renders the config template (20-templating §1.9): the
    /// effective User, location and scope are recomputed here and their versions bumped only on a structural change,
    /// so children see the change in their own derive key. Runs only when the derive key changed, never per tick.
    /// </summary>
    /// <exception cref="TemplateException">A Location, Parse, MissingVariable or Render error: a derive failure.</exception>
    private UserSpec BuildInjectedSpec()
    {
        _memoParentLocationVersion = ParentLocationVersion;
        TemplatingState state = _templating ??= new TemplatingState();

        // User: the parent's effective User overlaid by the node's own (child wins), §1.6.
        List<VariableOverride>? overrides = _runtime.TreeLogger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug) ? [] : null;
        IReadOnlyDictionary<string, object?> user = VariableBundle.MergeUser(_parent?._effectiveUser ?? s_emptyVariables, UserSpec.Variables.User, overrides);
        if (!VariableValue.StructurallyEqual(user, _effectiveUser))
        {
            _effectiveUser = user;
            _effectiveUserVersion++;
            if (overrides is not null)
            {
                foreach (VariableOverride o in overrides)
                {
                    Log.TemplateVariableOverridden(_runtime.TreeLogger, Path, o.Key);
                }
            }
        }

        // Location: the node's levels over its parent's (the runtime's base location for the root), §3.2.
        IsaLocation location = IsaLocation.Merge(_parent?._effectiveLocation ?? _runtime.BaseLocation, _spec.Location);
        if (!location.Equals(_effectiveLocation))
        {
            _effectiveLocation = location;
            _locationVersion++;
        }

        _internalVariables ??= VariableValue.NormalizeMap(new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["id"] = Identity.Id,
            ["parent_id"] = Identity.ParentId,
            ["created_at"] = CreatedAt,
        });

        // The scope is rebuilt only when User, Global or location changed (§1.9 rule 2).
        long globalsVersion = _runtime.GlobalsVersion;
        if (state.Scope is null || state.UserVersion != _effectiveUserVersion || state.GlobalsVersion != globalsVersion
            || state.LocationVersion != _locationVersion)
        {
            state.Scope = RenderScope.Create(_effectiveUser, _runtime.Globals, _internalVariables, _effectiveLocation);
            state.UserVersion = _effectiveUserVersion;
            state.GlobalsVersion = globalsVersion;
            state.LocationVersion = _locationVersion;
            foreach (string key in state.Scope.SkippedReservedKeys)
            {
                if ((state.WarnedReserved ??= new HashSet<string>(StringComparer.Ordinal)).Add(key))
                {
                    Log.TemplateReservedVariable(_runtime.TreeLogger, Path, key);
                }
            }
        }

        // A node whose merged location has any level must have an enterprise; such a node is not rendered (§3.2).
        _effectiveLocation.Validate(_isRoot ? "runtime" : Path);

        string template = UserSpec.Config;
        string rendered = template;
        LiquidRenderer renderer = _runtime.Renderer;
        if (!_spec.ConfigIsLiteral && template.Length > 0)
        {
            // The parsed template is kept with the node, so an LRU eviction never costs this node a re-parse.
            if (state.Parsed is null || !string.Equals(state.Parsed.Text, template, StringComparison.Ordinal))
            {
                state.Parsed = renderer.Parse(template);
            }

            state.Renders++;
            long started = _runtime.Time.GetTimestamp();
            try
            {
                rendered = renderer.Render(state.Parsed, state.Scope);
                _runtime.Metrics.RecordRender(WorkerType, "ok", _runtime.Time.GetElapsedTime(started));
            }
            catch (TemplateException ex)
            {
                _runtime.Metrics.RecordRender(WorkerType, ex.ResultTag, _runtime.Time.GetElapsedTime(started));
                throw;
            }
        }

        return new UserSpec(rendered, new VariableBundle(_effectiveUser, _runtime.Globals, _internalVariables), template, state.Scope, renderer);
    }

    /// <summary>Logs a derive failure; a template failure carries its kind and variable path (20-templating §2.9).</summary>
    private void LogDeriveFailure(string error, Exception? failure)
    {
        if (failure is TemplateException template)
        {
            Log.TemplateDeriveFailed(_runtime.SupervisionLogger, Path, template.KindName, template.Path ?? "", error);
        }
        else
        {
            Log.DeriveFailed(_runtime.SupervisionLogger, Path, error, null);
        }
    }

    private sealed class TemplatingState
    {
        public RenderScope? Scope;
        public long UserVersion = -1;
        public long GlobalsVersion = -1;
        public long LocationVersion = -1;
        public ParsedTemplate? Parsed;
        public HashSet<string>? WarnedReserved;
        public long Renders;
    }
}
