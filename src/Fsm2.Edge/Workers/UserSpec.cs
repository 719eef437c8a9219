namespace Fsm2.Edge.Workers;

/// <summary>The raw configuration handed to derive: config text and variables. Immutable.</summary>
public sealed class UserSpec
{
    /// <summary>Creates a user spec.</summary>
    /// <param name="config">Raw config text (a Liquid template, YAML, JSON ...); <see langword="null"/> becomes empty.</param>
    /// <param name="variables">Variables; <see langword="null"/> becomes <see cref="VariableBundle.Empty"/>.</param>
    public UserSpec(string? config = null, VariableBundle? variables = null)
    {
        Config = config ?? "";
        Variables = variables ?? VariableBundle.Empty;
    }

    /// <summary>An empty config with empty variables.</summary>
    public static UserSpec Empty { get; } = new();

    /// <summary>The raw config text.</summary>
    public string Config { get; }

    /// <summary>The variables.</summary>
    public VariableBundle Variables { get; }

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
