using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Workers;

/// <summary>The raw configuration handed to derive: config text and variables. Immutable.</summary>
/// <remarks>
/// In the injected spec a worker's derive receives, <see cref="Config"/> is already rendered: the node renders its
/// config template (<see cref="Template"/>) with its <see cref="Scope"/> inside the derive step, only when the
/// derive inputs changed, and a render failure is a derive failure that never reaches the worker. A child declared
/// with <see cref="ChildSpec.ConfigIsLiteral"/> gets its text verbatim.
/// </remarks>
public sealed class UserSpec
{
    private readonly LiquidRenderer? _renderer;

    /// <summary>Creates a user spec.</summary>
    /// <param name="config">Raw config text (a Liquid template, YAML, JSON ...); <see langword="null"/> becomes empty.</param>
    /// <param name="variables">Variables; <see langword="null"/> becomes <see cref="VariableBundle.Empty"/>.</param>
    public UserSpec(string? config = null, VariableBundle? variables = null)
    {
        Config = config ?? "";
        Template = Config;
        Variables = variables ?? VariableBundle.Empty;
    }

    internal UserSpec(string rendered, VariableBundle variables, string template, RenderScope scope, LiquidRenderer renderer)
    {
        Config = rendered;
        Variables = variables;
        Template = template;
        Scope = scope;
        _renderer = renderer;
    }

    /// <summary>An empty config with empty variables.</summary>
    public static UserSpec Empty { get; } = new();

    /// <summary>The config text: rendered in an injected spec, raw elsewhere.</summary>
    public string Config { get; }

    /// <summary>The config text before rendering (equal to <see cref="Config"/> outside an injected spec).</summary>
    public string Template { get; }

    /// <summary>The variables.</summary>
    public VariableBundle Variables { get; }

    /// <summary>
    /// The node's render scope in an injected spec (User, <c>global</c>, <c>internal</c>, <c>location</c>,
    /// <c>location_path</c>); <see langword="null"/> elsewhere. Immutable: a worker may keep it to render named
    /// templates off the tick thread (<see cref="RenderScope.With"/> adds per-message names).
    /// </summary>
    public RenderScope? Scope { get; }

    /// <summary>
    /// Renders <paramref name="template"/> against this spec's variables with the strict rules of 20-templating §2:
    /// the node's <see cref="Scope"/> and the runtime's parse cache in an injected spec; otherwise a scope built from
    /// <see cref="Variables"/> (no location) and <see cref="LiquidRenderer.Shared"/>. An empty text renders <c>""</c>.
    /// </summary>
    /// <param name="template">The Liquid template text.</param>
    /// <returns>The whole output.</returns>
    /// <exception cref="TemplateException">Parse, MissingVariable or Render error; no partial output.</exception>
    public string Render(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        RenderScope scope = Scope ?? RenderScope.Create(Variables.User, Variables.Global, Variables.Internal, null);
        return (_renderer ?? LiquidRenderer.Shared).Render(template, scope);
    }

    /// <summary>Ordinal config text plus deep User and Global variables; Internal never takes part.</summary>
    /// <param name="other">The spec to compare with.</param>
    /// <returns><see langword="true"/> when both specs are structurally equal.</returns>
    public bool StructurallyEquals(UserSpec? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        return other is not null
            && string.Equals(Config, other.Config, StringComparison.Ordinal)
            && Variables.StructurallyEquals(other.Variables);
    }
}
