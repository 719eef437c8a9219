namespace Fsm2.Edge.Templating;

/// <summary>Severity of a <see cref="TemplateFinding"/>.</summary>
public enum FindingSeverity
{
    /// <summary>The file is valid, but something will not behave as its author probably expects.</summary>
    Warning,

    /// <summary>The file is invalid; the last good config keeps running.</summary>
    Error,
}

/// <summary>One validation finding of the templating checks (50-runtime-monitoring §3.8); the config loader adds file and line.</summary>
/// <param name="Code">The code, e.g. <c>FSM2CFG054</c>.</param>
/// <param name="Severity">Error or warning.</param>
/// <param name="Field">The field path, e.g. <c>workers[pc1].variables.location_path</c>.</param>
/// <param name="Message">The message, e.g. <c>'location_path' is reserved</c>.</param>
/// <param name="Error">The template error behind the finding (path, tag, hint, line and column), when there is one.</param>
public sealed record TemplateFinding(string Code, FindingSeverity Severity, string Field, string Message, TemplateException? Error = null);

/// <summary>
/// The templating checks of the config pipeline (50-runtime-monitoring §3.8): variable keys (054 and unreachable
/// names), templates (040 Go syntax, 041 Liquid syntax, 043 removed tags) and locations (020, 021). The loader runs
/// them with the field path of each entry and maps findings to file and line; the dry derive (042, 022) is the
/// runtime's own derive.
/// </summary>
public static class TemplateValidation
{
    /// <summary>Checks the keys of a config <c>variables:</c> map (20-templating §1.5).</summary>
    /// <param name="variables">The map.</param>
    /// <param name="field">Its field path (<c>workers[pc1].variables</c>).</param>
    /// <returns>The findings, in key order; empty when valid.</returns>
    public static IReadOnlyList<TemplateFinding> CheckVariables(IReadOnlyDictionary<string, object?>? variables, string field)
    {
        var findings = new List<TemplateFinding>();
        if (variables is null)
        {
            return findings;
        }

        foreach (KeyValuePair<string, object?> pair in variables)
        {
            string key = pair.Key;
            string path = field + "." + key;
            if (RenderScope.IsReserved(key))
            {
                findings.Add(new("FSM2CFG054", FindingSeverity.Error, path, $"'{key}' is reserved"));
            }
            else if (!VariableValue.IsIdentifier(key))
            {
                findings.Add(new("FSM2CFG054", FindingSeverity.Error, path,
                    $"'{key}' is not a valid variable name (use [A-Za-z_][A-Za-z0-9_-]*; nested keys may use any text)"));
            }
            else if (key is "nil" or "null" or "empty" or "blank" or "true" or "false")
            {
                findings.Add(new("FSM2CFG054", FindingSeverity.Warning, path,
                    $"'{key}' is unreachable: in templates '{{{{ {key} }}}}' is the Liquid literal, not this variable"));
            }
            else if (key is "forloop" or "tablerowloop")
            {
                findings.Add(new("FSM2CFG054", FindingSeverity.Warning, path, $"'{key}' is shadowed inside loops"));
            }
            else if (key is "if" or "else" or "end" or "range" or "with" or "define" or "template" or "block" or "break" or "continue")
            {
                findings.Add(new("FSM2CFG054", FindingSeverity.Warning, path, $"'{{{{ {key} }}}}' reads as Go template syntax and is rejected"));
            }

            try
            {
                VariableValue.Normalize(pair.Value, key);
            }
            catch (VariableValueException ex)
            {
                findings.Add(new("FSM2CFG054", FindingSeverity.Error, path, ex.Message));
            }
        }

        return findings;
    }

    /// <summary>Checks a template text: Go syntax (040), Liquid syntax and size (041), removed tags (043).</summary>
    /// <param name="text">The template.</param>
    /// <param name="field">Its field path (<c>workers[pc1].config</c>).</param>
    /// <param name="renderer">The parse cache to use; <see cref="LiquidRenderer.Shared"/> when <see langword="null"/>.</param>
    /// <returns>The finding, or <see langword="null"/> when the text parses.</returns>
    public static TemplateFinding? CheckTemplate(string text, string field, LiquidRenderer? renderer = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return null;
        }

        ParsedTemplate parsed = (renderer ?? LiquidRenderer.Shared).Parse(text);
        return parsed.Error is { } error
            ? new TemplateFinding(error.Code ?? "FSM2CFG041", FindingSeverity.Error, field, StripPrefix(error.Message), error)
            : null;
    }

    /// <summary>Checks a config <c>location:</c> mapping (020 unknown level or alias clash, 021 invalid value).</summary>
    /// <param name="levels">The mapping.</param>
    /// <param name="field">Its field path (<c>runtime.location</c>).</param>
    /// <param name="location">The location when valid.</param>
    /// <returns>The finding, or <see langword="null"/> when valid.</returns>
    public static TemplateFinding? CheckLocation(IReadOnlyDictionary<string, object?>? levels, string field, out IsaLocation? location)
    {
        try
        {
            location = IsaLocation.FromMap(levels);
            return null;
        }
        catch (TemplateException ex)
        {
            location = null;
            return new TemplateFinding(ex.Code ?? "FSM2CFG020", FindingSeverity.Error, field, StripPrefix(ex.Message), ex);
        }
    }

    /// <summary>Checks the enterprise rule of a config node's merged location (022).</summary>
    /// <param name="merged">The merged location.</param>
    /// <param name="nodePath">The node path (<c>assembly/pc-press-1</c>).</param>
    /// <param name="field">The field path of the entry.</param>
    /// <returns>The finding, or <see langword="null"/> when the location has an enterprise.</returns>
    public static TemplateFinding? CheckEnterprise(IsaLocation? merged, string nodePath, string field)
    {
        // Config files go further than the runtime: every node's merged location must contain enterprise (§3.2).
        return string.IsNullOrEmpty(merged?.Enterprise)
            ? new TemplateFinding("FSM2CFG022", FindingSeverity.Error, field, $"merged location of {nodePath} has no 'enterprise'")
            : null;
    }

    private static string StripPrefix(string message)
    {
        foreach (string prefix in (ReadOnlySpan<string>)["parse template: ", "location: "])
        {
            if (message.StartsWith(prefix, StringComparison.Ordinal))
            {
                return message[prefix.Length..];
            }
        }

        return message;
    }
}
