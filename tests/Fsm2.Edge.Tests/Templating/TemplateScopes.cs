using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>Renderer-level scopes of 20-templating §8: Internal is I{id:"w-1", parent_id:"", created_at:2025-11-03T10:00:00Z}.</summary>
internal static class TemplateScopes
{
    public static readonly DateTimeOffset CreatedAt = new(2025, 11, 3, 10, 0, 0, TimeSpan.Zero);

    public static readonly IsaLocation AcmeLineA = new("ACME", "Factory-1", Line: "Line-A");

    public static RenderScope Scope(
        Dictionary<string, object?>? user = null,
        Dictionary<string, object?>? global = null,
        IsaLocation? location = null)
        => RenderScope.Create(user, global, Internal(), location);

    public static Dictionary<string, object?> Internal(string id = "w-1", string parentId = "") => new()
    {
        ["id"] = id,
        ["parent_id"] = parentId,
        ["created_at"] = CreatedAt,
    };

    /// <summary>Renders with a fresh renderer (its own cache).</summary>
    public static string Render(string template, RenderScope scope) => new LiquidRenderer().Render(template, scope);

    public static TemplateException Fails(string template, RenderScope scope)
        => Assert.Throws<TemplateException>(() => new LiquidRenderer().Render(template, scope));
}
