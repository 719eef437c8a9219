using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Observability;

/// <summary>Log events of templating, variables and location: EventIds 5000–5999.</summary>
internal static partial class Log
{
    [LoggerMessage(5001, LogLevel.Warning,
        "derive_failed node={Node} template_kind={TemplateKind} variable_path={VariablePath} message={Message}", EventName = "derive_failed")]
    public static partial void TemplateDeriveFailed(ILogger logger, string node, string templateKind, string variablePath, string message);

    [LoggerMessage(5002, LogLevel.Warning,
        "template_reserved_variable node={Node} key={Key}: the runtime's value wins; rename the variable", EventName = "template_reserved_variable")]
    public static partial void TemplateReservedVariable(ILogger logger, string node, string key);

    [LoggerMessage(5003, LogLevel.Debug,
        "template_variable_overridden node={Node} key={Key}: the child's value replaces the parent's", EventName = "template_variable_overridden")]
    public static partial void TemplateVariableOverridden(ILogger logger, string node, string key);

    [LoggerMessage(5004, LogLevel.Information,
        "global_variables_updated source={Source} version={Version} changed_keys={ChangedKeys}", EventName = "global_variables_updated")]
    public static partial void GlobalVariablesUpdated(ILogger logger, string source, string version, string changedKeys);

    [LoggerMessage(5005, LogLevel.Error,
        "global_update_rejected source={Source} reason={Reason}: the previous Global variables stay", EventName = "global_update_rejected")]
    public static partial void GlobalUpdateRejected(ILogger logger, string source, string reason);
}
