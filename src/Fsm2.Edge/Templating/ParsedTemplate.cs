using System.Diagnostics;
using Fluid;

namespace Fsm2.Edge.Templating;

/// <summary>
/// A template text after the Go-syntax scan and the Liquid parse: the parsed template, or the Parse error. Immutable
/// and shareable across threads; parse failures are cached too, because parsing is deterministic.
/// </summary>
[DebuggerDisplay("{Text.Length} chars, valid={IsValid}")]
public sealed class ParsedTemplate
{
    internal ParsedTemplate(string text, IFluidTemplate? template, TemplateException? error)
    {
        Debug.Assert(template is not null ^ error is not null, "exactly one of template and error");
        Text = text;
        Template = template;
        Error = error;
    }

    /// <summary>The template text.</summary>
    public string Text { get; }

    /// <summary>The Parse error, or <see langword="null"/> when the text parsed.</summary>
    public TemplateException? Error { get; }

    /// <summary>Whether the text parsed (and has no Go syntax).</summary>
    public bool IsValid => Error is null;

    internal IFluidTemplate? Template { get; }
}
