using System.Net.Sockets;
using System.Reflection;

namespace Fsm2.Edge.Health;

/// <summary>Classifies exceptions from worker code (30-supervision §9.2); the first matching rule wins.</summary>
public static class ExceptionClassifier
{
    /// <summary>Classifies <paramref name="exception"/>.</summary>
    /// <param name="exception">The exception thrown by worker code (never an invariant violation).</param>
    /// <param name="runtimeTokenCancelled">Whether the runtime's own token was cancelled (then a cancellation is not transient).</param>
    /// <returns>The class.</returns>
    public static PanicClass Classify(Exception exception, bool runtimeTokenCancelled = false)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case IClassifiedException classified:
                return classified.Class;
            case ConfigException:
                return PanicClass.Config;
            case TimeoutException or IOException or SocketException or HttpRequestException:
                return PanicClass.Transient;
            case OperationCanceledException when !runtimeTokenCancelled:
                return PanicClass.Transient;
            case AggregateException aggregate:
                return ClassifyMany(aggregate.InnerExceptions, runtimeTokenCancelled);
            case TargetInvocationException { InnerException: { } inner }:
                return Classify(inner, runtimeTokenCancelled);
        }

        // MQTTnet's communication exceptions are transient; the core library does not reference MQTTnet, so they are
        // recognised by their namespace and name.
        Type type = exception.GetType();
        if (type.Namespace?.StartsWith("MQTTnet", StringComparison.Ordinal) == true
            && type.Name.Contains("Communication", StringComparison.Ordinal))
        {
            return PanicClass.Transient;
        }

        return PanicClass.Bug;
    }

    private static PanicClass ClassifyMany(System.Collections.ObjectModel.ReadOnlyCollection<Exception> inner, bool runtimeTokenCancelled)
    {
        if (inner.Count == 1)
        {
            return Classify(inner[0], runtimeTokenCancelled);
        }

        bool config = false;
        foreach (Exception exception in inner)
        {
            PanicClass c = Classify(exception, runtimeTokenCancelled);
            if (c == PanicClass.Bug)
            {
                return PanicClass.Bug;
            }

            config |= c == PanicClass.Config;
        }

        return config ? PanicClass.Config : PanicClass.Transient;
    }
}
