using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Supervision;

/// <summary>Defaults and validation of <see cref="RuntimeOptions"/>, applied by the runtime constructor (§14).</summary>
public sealed class RuntimeOptionsTests
{
    public static TheoryData<string> AllTimingFieldsZeroOrAbsent => ["absent", "default", "zero"];

    private static RuntimeOptions? OptionsFor(string kind) => kind switch
    {
        "absent" => null,
        "default" => new RuntimeOptions(),
        _ => new RuntimeOptions
        {
            StaleThreshold = TimeSpan.Zero,
            CollectorTimeout = TimeSpan.Zero,
            MaxCollectorRestarts = 0,
            ObservationTimeout = TimeSpan.Zero,
            ObservationInterval = TimeSpan.Zero,
            RemovalTimeout = TimeSpan.Zero,
            MaxHierarchyDepth = 0,
        },
    };

    [Theory]
    [MemberData(nameof(AllTimingFieldsZeroOrAbsent))]
    [Trait("spec", "C-01")]
    public async Task C01_TimingFieldsZeroOrAbsent_TakeTheDefaults(string kind)
    {
        // arrange
        var factory = new WorkerFactory();
        RuntimeOptions? options = OptionsFor(kind);

        // act
        await using var runtime = new SupervisorRuntime(factory, options);

        // assert
        RuntimeOptions resolved = runtime.Options;
        Assert.Equal(TimeSpan.FromSeconds(10), resolved.StaleThreshold);
        Assert.Equal(TimeSpan.FromSeconds(20), resolved.CollectorTimeout);
        Assert.Equal(3, resolved.MaxCollectorRestarts);
        Assert.Equal(TimeSpan.FromMilliseconds(2200), resolved.ObservationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), resolved.ObservationInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), resolved.RemovalTimeout);
        Assert.Equal(10, resolved.MaxHierarchyDepth);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(5)]
    [Trait("spec", "C-02")]
    public void C02_CollectorTimeoutNotAboveStaleThreshold_ThrowsNamingBothFields(int collectorTimeoutSeconds)
    {
        // arrange
        var options = new RuntimeOptions
        {
            StaleThreshold = TimeSpan.FromSeconds(10),
            CollectorTimeout = TimeSpan.FromSeconds(collectorTimeoutSeconds),
        };

        // act
        ArgumentException ex = Assert.ThrowsAny<ArgumentException>(() => new SupervisorRuntime(new WorkerFactory(), options));

        // assert
        Assert.Contains(nameof(RuntimeOptions.StaleThreshold), ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(RuntimeOptions.CollectorTimeout), ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<RuntimeOptions, string> InvalidOptions => new()
    {
        { new RuntimeOptions { ObservationTimeout = TimeSpan.FromSeconds(10) }, nameof(RuntimeOptions.ObservationTimeout) },
        { new RuntimeOptions { ObservationTimeout = TimeSpan.FromSeconds(11) }, nameof(RuntimeOptions.ObservationTimeout) },
        {
            new RuntimeOptions { StaleThreshold = TimeSpan.FromSeconds(5), ObservationTimeout = TimeSpan.FromSeconds(5) },
            nameof(RuntimeOptions.ObservationTimeout)
        },
        { new RuntimeOptions { StaleThreshold = TimeSpan.FromSeconds(-1) }, nameof(RuntimeOptions.StaleThreshold) },
        { new RuntimeOptions { MaxCollectorRestarts = -1 }, nameof(RuntimeOptions.MaxCollectorRestarts) },
        { new RuntimeOptions { MaxHierarchyDepth = -1 }, nameof(RuntimeOptions.MaxHierarchyDepth) },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    [Trait("spec", "C-03")]
    public void C03_InvalidField_ThrowsArgumentExceptionNamingTheField(RuntimeOptions options, string field)
    {
        // arrange
        var factory = new WorkerFactory();

        // act
        ArgumentException ex = Assert.ThrowsAny<ArgumentException>(() => new SupervisorRuntime(factory, options));

        // assert
        Assert.Equal(field, ex.ParamName);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "C-03")]
    public void Resolve_ObservationTimeoutJustBelowStaleThreshold_IsAccepted()
    {
        // arrange: the boundary of "ObservationTimeout < StaleThreshold" (strict).
        var options = new RuntimeOptions { ObservationTimeout = TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(1) };

        // act
        RuntimeOptions resolved = options.Resolve();

        // assert
        Assert.Equal(TimeSpan.FromMilliseconds(9_999), resolved.ObservationTimeout);
    }
}
