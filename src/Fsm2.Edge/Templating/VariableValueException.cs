using Fsm2.Edge.Health;

namespace Fsm2.Edge.Templating;

/// <summary>
/// A variable value cannot be normalised (20-templating §1.2): an unsupported type, a non-finite number or nesting
/// deeper than 32 containers. A <see cref="ConfigException"/>: classified Config.
/// </summary>
public sealed class VariableValueException : ConfigException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public VariableValueException()
        : base("variable has an unsupported value")
    {
        Path = "";
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The complete message.</param>
    public VariableValueException(string message)
        : base(message)
    {
        Path = "";
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The complete message.</param>
    /// <param name="innerException">The cause.</param>
    public VariableValueException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = "";
    }

    /// <summary>Creates the exception for the value at <paramref name="path"/>.</summary>
    /// <param name="path">The variable path (<c>poll.timeout</c>).</param>
    /// <param name="message">The complete message naming the path.</param>
    /// <param name="innerException">The cause, if any.</param>
    public VariableValueException(string path, string message, Exception? innerException)
        : base(message, innerException!) // a null cause is allowed, as for Exception.
    {
        Path = path;
    }

    /// <summary>The path of the rejected value (<c>poll.timeout</c>, <c>list[2]</c>).</summary>
    public string Path { get; }
}
