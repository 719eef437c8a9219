using Fsm2.Edge.Config;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Tests.Config;

/// <summary>Hardware profiles (50-runtime-monitoring §11; 30-supervision S-35; 40-actions A-08).</summary>
public sealed class HardwareProfileLoaderTests
{
    [Theory]
    [InlineData("x64-server", 50, 8, 4096)]
    [InlineData("x64-gateway", 100, 4, 1024)]
    [InlineData("arm64-gateway", 100, 4, 1024)]
    [InlineData("arm64-small", 200, 2, 256)]
    public void Load_ShippedProfile_LoadsWithoutFindingsAndTheTableValues(string name, int tickMs, int threads, int ring)
    {
        // act
        ProfileLoadResult result = HardwareProfileLoader.Load(name, ConfigTestFiles.ShippedLookup);

        // assert
        Assert.True(result.Succeeded, string.Join("\n", result.Findings));
        Assert.Empty(result.Findings);
        Assert.Equal(name, result.Profile.Name);
        Assert.Equal(tickMs, result.Profile.Tick.IntervalMs);
        Assert.Equal(threads, result.Profile.Actions.Threads);
        Assert.Equal(ring, result.Profile.Actions.RingCapacity);
    }

    [Fact]
    public void ApplyTo_ArmSmall_SetsTheRuntimeOptions()
    {
        // arrange
        HardwareProfile profile = HardwareProfileLoader.Load("arm64-small", ConfigTestFiles.ShippedLookup).Profile!;

        // act
        RuntimeOptions options = HardwareProfileLoader.ApplyTo(profile, new RuntimeOptions()).Resolve();

        // assert
        Assert.Equal(TimeSpan.FromMilliseconds(200), options.TickInterval);
        Assert.Equal(2, options.ActionThreads);
        Assert.Equal(256, options.ActionQueueCapacity);
        Assert.Equal(TimeSpan.FromSeconds(2), options.ObservationInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(4400), options.ObservationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(20), options.StaleThreshold);
        Assert.Equal(TimeSpan.FromSeconds(40), options.CollectorTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MetricsInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(7500), options.ShutdownBudget); // 8 s minus the host's 0.5 s
        Assert.Equal(TimeSpan.FromSeconds(2), options.ActionShutdownTimeout);
    }

    [Fact]
    public void ApplyTo_SupervisionSection_DrivesBreakerActionBackoffAndProbeDefaults()
    {
        // arrange: a profile whose supervision values all differ from the runtime's built-in defaults.
        using var files = new ConfigTestFiles();
        string path = files.WriteProfile("supervision", p =>
        {
            p["supervision"]!["backoff_base_ms"] = 500;
            p["supervision"]!["backoff_max_ms"] = 8000;
            p["supervision"]!["jitter"] = 0;
            p["supervision"]!["stability_window_ms"] = 30000;
            p["supervision"]!["probe_interval_ms"] = 3000;
            p["supervision"]!["probe_timeout_ms"] = 700;
            p["supervision"]!["probe_miss_threshold"] = 5;
        });
        HardwareProfile profile = HardwareProfileLoader.LoadFile(path).Profile!;

        // act
        RuntimeOptions options = HardwareProfileLoader.ApplyTo(profile, new RuntimeOptions()).Resolve();

        // assert
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.BreakerBaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(8), options.BreakerMaxDelay);
        Assert.Equal(0, options.BreakerJitter);
        Assert.Equal(TimeSpan.FromSeconds(30), options.BreakerStabilityWindow);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.ActionBackoffBase);
        Assert.Equal(TimeSpan.FromSeconds(8), options.ActionBackoffMax);
        Assert.Equal(0, options.ActionBackoffJitter);
        Assert.Equal(TimeSpan.FromSeconds(3), options.ProbeInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(700), options.ProbeTimeout);
        Assert.Equal(5, options.ProbeMissThreshold);
    }

    [Theory]
    [InlineData(1000, "$.actions.ring_capacity")]
    [InlineData(8, "$.actions.ring_capacity")]
    [InlineData(131072, "$.actions.ring_capacity")]
    [Trait("spec", "A-08")]
    public void A08_RingCapacityInvalid_FailsNamingTheField(int capacity, string field)
    {
        // arrange
        using var files = new ConfigTestFiles();
        string path = files.WriteProfile("bad-ring", p => p["actions"]!["ring_capacity"] = capacity);

        // act
        ProfileLoadResult result = HardwareProfileLoader.LoadFile(path);

        // assert
        Assert.False(result.Succeeded);
        ConfigFinding error = Assert.Single(result.Findings, f => f.IsError);
        Assert.Equal(field, error.Path);
        Assert.Equal(ConfigCodes.InvalidProfile, error.Code);
    }

    [Fact]
    [Trait("spec", "A-08")]
    public void A08_ActionThreadsZero_FailsNamingTheField()
    {
        // arrange
        using var files = new ConfigTestFiles();
        string path = files.WriteProfile("no-threads", p => p["actions"]!["threads"] = 0);

        // act
        ProfileLoadResult result = HardwareProfileLoader.LoadFile(path);

        // assert
        Assert.False(result.Succeeded);
        Assert.Equal("$.actions.threads", Assert.Single(result.Findings, f => f.IsError).Path);
    }

    [Fact]
    [Trait("spec", "M-18")]
    public void M18_RingCapacity300_Fsm2Cfg051NamesFileAndPath()
    {
        // arrange
        using var files = new ConfigTestFiles();
        string path = files.WriteProfile("ring-300", p => p["actions"]!["ring_capacity"] = 300);

        // act
        ProfileLoadResult result = HardwareProfileLoader.LoadFile(path);

        // assert
        ConfigFinding error = Assert.Single(result.Findings, f => f.IsError);
        string line = error.ToString();
        Assert.StartsWith(path + ":", line, StringComparison.Ordinal);
        Assert.Contains("FSM2CFG051", line, StringComparison.Ordinal);
        Assert.Contains("$.actions.ring_capacity: 300 is not a power of two", line, StringComparison.Ordinal);
        Assert.True(error.Line > 1, "the finding carries the line of ring_capacity in the file");
    }

    [Theory]
    [InlineData("timeout_ms", 10000, "$.observation.timeout_ms")]
    [InlineData("timeout_ms", 12000, "$.observation.timeout_ms")]
    [InlineData("collector_timeout_ms", 10000, "$.observation.collector_timeout_ms")]
    [InlineData("collector_timeout_ms", 5000, "$.observation.collector_timeout_ms")]
    [Trait("spec", "S-35")]
    public void S35_ObservationTimingsBroken_FailNamingTheField(string field, int value, string path)
    {
        // arrange
        using var files = new ConfigTestFiles();
        string file = files.WriteProfile("timing", p => p["observation"]![field] = value);

        // act
        ProfileLoadResult result = HardwareProfileLoader.LoadFile(file);

        // assert
        Assert.False(result.Succeeded);
        Assert.Contains(result.Findings, f => f.IsError && f.Path == path);
    }

    [Fact]
    [Trait("spec", "S-35")]
    public void S35_TickIntervalAboveObservationInterval_LoadsWithAWarningNamingBoth()
    {
        // arrange
        using var files = new ConfigTestFiles();
        string file = files.WriteProfile("slow-tick", p =>
        {
            p["tick"]!["interval_ms"] = 2000;
            p["tick"]!["budget_max_us"] = 5000;
        });
        var logs = new FakeLogCollector();
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));

        // act
        ProfileLoadResult result = HardwareProfileLoader.LoadFile(file, logger: factory.CreateLogger("Fsm2.Edge.Config"));

        // assert
        Assert.True(result.Succeeded);
        ConfigFinding warning = Assert.Single(result.Findings);
        Assert.Equal(FindingSeverity.Warning, warning.Severity);
        Assert.Equal("$.tick.interval_ms", warning.Path);
        Assert.Contains("$.observation.interval_ms", warning.Message, StringComparison.Ordinal);
        FakeLogRecord logged = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "profile_warning");
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Contains("$.tick.interval_ms", logged.Message, StringComparison.Ordinal);
        Assert.Contains("$.observation.interval_ms", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_UnknownAndMissingFields_AreFsm2Cfg051WithThePath()
    {
        // arrange
        using var files = new ConfigTestFiles();
        string unknown = files.WriteProfile("unknown-field", p => p["tick"]!["interval_msec"] = 100);
        string missing = files.WriteProfile("missing-field", p => p["metrics"]!.AsObject().Remove("node_labels"));

        // act
        ProfileLoadResult unknownResult = HardwareProfileLoader.LoadFile(unknown);
        ProfileLoadResult missingResult = HardwareProfileLoader.LoadFile(missing);

        // assert
        ConfigFinding u = Assert.Single(unknownResult.Findings);
        Assert.Equal("$.tick.interval_msec", u.Path);
        Assert.Equal("unknown field", u.Message);
        ConfigFinding m = Assert.Single(missingResult.Findings);
        Assert.Equal("$.metrics.node_labels", m.Path);
        Assert.Contains("required", m.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "M-19")]
    public void M19_UnknownProfile_Fsm2Cfg050ListsTheFourProfiles()
    {
        // act
        ProfileLoadResult result = HardwareProfileLoader.Load("arm64-tiny", ConfigTestFiles.ShippedLookup);

        // assert
        ConfigFinding error = Assert.Single(result.Findings);
        Assert.Equal(ConfigCodes.UnknownProfile, error.Code);
        Assert.Equal("unknown profile 'arm64-tiny'; available: arm64-gateway, arm64-small, x64-gateway, x64-server", error.Message);
    }

    [Fact]
    public void Load_NameFoundInAnEarlierDirectory_HidesTheShippedOne()
    {
        // arrange
        using var files = new ConfigTestFiles();
        files.WriteProfile("x64-gateway", p => p["actions"]!["threads"] = 3, basedOn: "x64-gateway");
        var lookup = new ProfileLookup(files.Directory, null, AppContext.BaseDirectory);

        // act
        ProfileLoadResult result = HardwareProfileLoader.Load("x64-gateway", lookup);

        // assert
        Assert.Equal(3, result.Profile!.Actions.Threads);
        Assert.StartsWith(files.Directory, result.Profile.SourceFile, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "M-20")]
    public void M20_List_FindsFourProfilesAndTheArchitectureDefault()
    {
        // act
        (IReadOnlyList<HardwareProfile> profiles, IReadOnlyList<ConfigFinding> findings, _) = HardwareProfileLoader.List(ConfigTestFiles.ShippedLookup);

        // assert
        Assert.Empty(findings);
        Assert.Equal(["arm64-gateway", "arm64-small", "x64-gateway", "x64-server"], profiles.Select(p => p.Name));
        Assert.Equal("x64-gateway", HardwareProfileLoader.ArchitectureDefault(System.Runtime.InteropServices.Architecture.X64));
        Assert.Equal("arm64-gateway", HardwareProfileLoader.ArchitectureDefault(System.Runtime.InteropServices.Architecture.Arm64));
    }
}
