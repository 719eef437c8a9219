using System.Net.Sockets;
using Fsm2.Edge.Health;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Tests.Health;

/// <summary>Supervision options and their validation (30-supervision §8.1, §12), and exception classes (§9.2).</summary>
public sealed class SupervisionOptionsTests
{
    [Fact]
    public void Resolve_Defaults_AreTheSpecTable()
    {
        RuntimeOptions o = new RuntimeOptions().Resolve();
        Assert.Equal(TimeSpan.FromSeconds(1), o.BreakerBaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(60), o.BreakerMaxDelay);
        Assert.Equal(0.20, o.BreakerJitter);
        Assert.Equal(TimeSpan.FromSeconds(60), o.BreakerStabilityWindow);
        Assert.Equal(3, o.PersistentFailureAttempt);
        Assert.Equal(5, o.EscalationAttempt);
        Assert.Equal(TimeSpan.FromSeconds(10), o.RestartGrace);
        Assert.Equal(3, o.MaxPanics);
        Assert.Equal(TimeSpan.FromMinutes(5), o.PanicWindow);
        Assert.Equal(TimeSpan.FromSeconds(2), o.ProbeInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), o.ProbeTimeout);
        Assert.Equal(3, o.ProbeMissThreshold);
    }

    public static TheoryData<RuntimeOptions, string> Invalid => new()
    {
        { new RuntimeOptions { ObservationTimeout = TimeSpan.FromSeconds(10) }, nameof(RuntimeOptions.ObservationTimeout) },
        { new RuntimeOptions { CollectorTimeout = TimeSpan.FromSeconds(10) }, nameof(RuntimeOptions.CollectorTimeout) },
        { new RuntimeOptions { BreakerBaseDelay = TimeSpan.FromSeconds(90) }, nameof(RuntimeOptions.BreakerMaxDelay) },
        { new RuntimeOptions { BreakerJitter = 1.0 }, nameof(RuntimeOptions.BreakerJitter) },
        { new RuntimeOptions { BreakerStabilityWindow = TimeSpan.FromSeconds(-1) }, nameof(RuntimeOptions.BreakerStabilityWindow) },
        { new RuntimeOptions { PersistentFailureAttempt = 5, EscalationAttempt = 5 }, nameof(RuntimeOptions.EscalationAttempt) },
        { new RuntimeOptions { RestartGrace = TimeSpan.FromSeconds(-1) }, nameof(RuntimeOptions.RestartGrace) },
        { new RuntimeOptions { MaxPanics = -1 }, nameof(RuntimeOptions.MaxPanics) },
        { new RuntimeOptions { ProbeTimeout = TimeSpan.FromSeconds(2) }, nameof(RuntimeOptions.ProbeTimeout) },
        { new RuntimeOptions { ProbeMissThreshold = -3 }, nameof(RuntimeOptions.ProbeMissThreshold) },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    [Trait("spec", "S-35")]
    public void S35_InvalidRelation_FailsNamingTheField(RuntimeOptions options, string field)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => options.Resolve());
        Assert.Equal(field, error.ParamName);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "S-35")]
    public async Task S35_TickIntervalAboveObservationInterval_LoadsWithAWarningNamingBothFields()
    {
        // arrange
        var options = new RuntimeOptions { TickInterval = TimeSpan.FromSeconds(2), ObservationInterval = TimeSpan.FromSeconds(1) };

        // act
        await using var harness = new Harness(options);
        _ = harness.Runtime;

        // assert
        string? message = Assert.Single(harness.Events("options_warning")).Field("Message");
        Assert.Contains(nameof(RuntimeOptions.TickInterval), message, StringComparison.Ordinal);
        Assert.Contains(nameof(RuntimeOptions.ObservationInterval), message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "S-26")]
    public void S26_Classes_TransientTransientConfigBugTransientAndOriginalsReachable()
    {
        // arrange
        var io = new IOException("disk");
        var template = new ConfigException("template 'conn' line 3: unknown filter 'upcase2'");
        var cases = new (Exception Exception, PanicClass Class, Exception Original)[]
        {
            (new TimeoutException(), PanicClass.Transient, null!),
            (new SocketException((int)SocketError.ConnectionRefused), PanicClass.Transient, null!),
            (template, PanicClass.Config, template),
            (new InvalidOperationException(), PanicClass.Bug, null!),
            (new AggregateException(io), PanicClass.Transient, io),
        };

        // act + assert
        foreach ((Exception exception, PanicClass expected, Exception? original) in cases)
        {
            Assert.Equal(expected, ExceptionClassifier.Classify(exception));
            if (original is not null && exception is AggregateException aggregate)
            {
                Assert.Same(original, Assert.Single(aggregate.InnerExceptions));
            }
        }
    }
}
