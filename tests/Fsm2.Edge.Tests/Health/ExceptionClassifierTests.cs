using System.Net.Sockets;
using System.Reflection;
using Fsm2.Edge.Health;

namespace Fsm2.Edge.Tests.Health;

public sealed class ExceptionClassifierTests
{
    public static TheoryData<Exception, PanicClass> Cases => new()
    {
        { new TimeoutException(), PanicClass.Transient },
        { new IOException(), PanicClass.Transient },
        { new SocketException(), PanicClass.Transient },
        { new HttpRequestException(), PanicClass.Transient },
        { new OperationCanceledException(), PanicClass.Transient },
        { new ConfigException("bad field"), PanicClass.Config },
        { new Declared(PanicClass.Config), PanicClass.Config },
        { new InvalidOperationException(), PanicClass.Bug },
        { new FormatException(), PanicClass.Bug },
        { new AggregateException(new IOException()), PanicClass.Transient },
        { new AggregateException(new IOException(), new ConfigException()), PanicClass.Config },
        { new AggregateException(new IOException(), new ArgumentException()), PanicClass.Bug },
        { new TargetInvocationException(new TimeoutException()), PanicClass.Transient },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Classify_FirstMatchingRule_GivesTheClass(Exception exception, PanicClass expected)
        => Assert.Equal(expected, ExceptionClassifier.Classify(exception));

    [Fact]
    public void Classify_CancellationOfTheRuntimeToken_IsNotTransient()
        => Assert.Equal(PanicClass.Bug, ExceptionClassifier.Classify(new OperationCanceledException(), runtimeTokenCancelled: true));

    private sealed class Declared(PanicClass c) : Exception, IClassifiedException
    {
        public PanicClass Class { get; } = c;
    }
}
