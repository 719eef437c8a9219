namespace Fsm2.Edge.Reconciliation;

/// <summary>Child name syntax (§2.5): 1–128 characters from <c>[A-Za-z0-9._:-]</c>.</summary>
public static class ChildNames
{
    /// <summary>The longest valid name.</summary>
    public const int MaxLength = 128;

    /// <summary>Checks a child name.</summary>
    /// <param name="name">The name.</param>
    /// <returns><see langword="null"/> when valid, else what is wrong with it.</returns>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "name must not be empty";
        }

        if (name.Length > MaxLength)
        {
            return $"name '{name[..16]}...' is longer than {MaxLength} characters";
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-'))
            {
                return $"name '{name}' contains '{c}'; allowed are A-Z a-z 0-9 . _ : -";
            }
        }

        return null;
    }
}
