namespace Fsm2.Edge.Templating;

/// <summary>What kind of template failure a <see cref="TemplateException"/> reports (20-templating §2.8).</summary>
public enum TemplateErrorKind
{
    /// <summary>Liquid syntax, Go template syntax, a removed tag (<c>include</c>, <c>render</c>) or an oversized text.</summary>
    Parse,

    /// <summary>A referenced variable is absent or null. Probably transient: an input has not arrived yet.</summary>
    MissingVariable,

    /// <summary>A render-time failure: a map or list printed, an unknown filter, a bad value or a limit.</summary>
    Render,

    /// <summary>An invalid ISA-95 location (unknown level, bad value, no enterprise).</summary>
    Location,
}
