namespace Fsm2.Edge.Health;

/// <summary>How an exception from worker code is classified (30-supervision §9.2).</summary>
public enum PanicClass
{
    /// <summary>Expected to pass by itself: timeouts, I/O and network errors.</summary>
    Transient,

    /// <summary>Caused by configuration: retried when the inputs change; never counts towards the panic window.</summary>
    Config,

    /// <summary>A defect in worker code: anything not known to be transient or configuration.</summary>
    Bug,
}

/// <summary>An exception that declares its own <see cref="PanicClass"/>.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix",
    Justification = "The name is fixed by 30-supervision §9.2; it is implemented by exception types.")]
public interface IClassifiedException
{
    /// <summary>The declared class.</summary>
    PanicClass Class { get; }
}

/// <summary>The base of configuration errors (template errors, user-spec binding errors): classified <see cref="PanicClass.Config"/>.</summary>
public class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConfigException()
    {
    }

    /// <summary>Creates the exception with a message naming the field or file.</summary>
    /// <param name="message">The message.</param>
    public ConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Metric and log tag values of <see cref="PanicClass"/> (cached strings, so tagging allocates nothing).</summary>
internal static class PanicClassTags
{
    public static string ToTag(this PanicClass panicClass) => panicClass switch
    {
        PanicClass.Transient => "transient",
        PanicClass.Config => "config",
        _ => "bug",
    };
}
