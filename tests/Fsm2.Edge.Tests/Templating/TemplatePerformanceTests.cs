using System.Diagnostics;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers;
using static Fsm2.Edge.Tests.Templating.TemplateScopes;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>CI guards of 20-templating §6 and §8.7 (T-70 … T-73); the budgets themselves are BenchmarkDotNet's (perf/).</summary>
public sealed class TemplatePerformanceTests
{
    /// <summary>A typical ~390-character, 10-variable YAML-shaped child config.</summary>
    internal const string TypicalConfig = """
        input:
          modbus:
            address: "{{ IP }}:{{ PORT }}"
            slave_id: {{ SLAVE_ID }}
            timeout: {{ TIMEOUT_MS }}ms
            registers: "{{ REGISTERS }}"
        pipeline:
          processors:
            - tag: "{{ TAG_PREFIX }}_{{ name }}"
              interval: {{ INTERVAL }}
        output:
          mqtt:
            urls: ["tcp://{{ global.broker }}:1883"]
            topic: "umh/v1/{{ location_path }}/_historian/{{ name }}"
            client_id: "{{ internal.id }}-{{ DEVICE }}"
        """;

    internal static Dictionary<string, object?> TypicalUser() => new()
    {
        ["IP"] = "192.168.1.100", ["PORT"] = 502, ["SLAVE_ID"] = 1, ["TIMEOUT_MS"] = 500, ["REGISTERS"] = "40001-40010",
        ["TAG_PREFIX"] = "press", ["name"] = "s-1", ["INTERVAL"] = "1s", ["DEVICE"] = "plc-01", ["unused"] = true,
    };

    [Fact]
    [Trait("spec", "T-70")]
    public void T70_CachedRender_MedianUnder50Microseconds_Under16KB()
    {
        // arrange
        var renderer = new LiquidRenderer();
        RenderScope scope = Scope(TypicalUser(), new() { ["broker"] = "broker.local" }, AcmeLineA);
        ParsedTemplate parsed = renderer.Parse(TypicalConfig);
        for (int i = 0; i < 2_000; i++)
        {
            renderer.Render(parsed, scope);
        }

        var samples = new double[1_001];

        // act
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < samples.Length; i++)
        {
            long started = Stopwatch.GetTimestamp();
            renderer.Render(parsed, scope);
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        }

        long perRender = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / samples.Length;
        Array.Sort(samples);

        // assert
        Assert.True(TypicalConfig.Length <= 1024);
        Assert.True(samples[samples.Length / 2] < 50, $"median {samples[samples.Length / 2]:F1} µs");
        Assert.True(perRender < 16 * 1024, $"{perRender} B per render");
    }

    [Fact]
    [Trait("spec", "T-71")]
    public void T71_HundredUncachedParseAndRenders_Under500Milliseconds()
    {
        // arrange
        RenderScope scope = Scope(new() { ["Protocol"] = "mqtt", ["IP"] = "192.168.1.100", ["Port"] = 1883, ["Path"] = "data/sensors" });
        new LiquidRenderer().Render("{{ Protocol }}", scope); // first parse in the process (JIT) is not part of the budget.
        var outputs = new List<string>(100);

        // act
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < 100; i++)
        {
            outputs.Add(new LiquidRenderer().Render("{{ Protocol }}://{{ IP }}:{{ Port }}/{{ Path }}", scope));
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);

        // assert
        Assert.True(elapsed < TimeSpan.FromMilliseconds(500), $"{elapsed.TotalMilliseconds:F0} ms");
        Assert.All(outputs, o => Assert.Equal("mqtt://192.168.1.100:1883/data/sensors", o));
    }

    [Fact]
    [Trait("spec", "T-72")]
    public async Task T72_EightThreadsShareOneCachedTemplate_NoWrongOutputs()
    {
        // arrange
        var renderer = new LiquidRenderer();
        ParsedTemplate parsed = renderer.Parse("{{ IP }}:{{ PORT }}");
        int wrong = 0;
        int exceptions = 0;

        // act
        Task[] threads = [.. Enumerable.Range(0, 8).Select(t => Task.Factory.StartNew(() =>
        {
            RenderScope scope = Scope(new() { ["IP"] = $"10.0.0.{t}", ["PORT"] = t });
            string expected = $"10.0.0.{t}:{t}";
            for (int i = 0; i < 50_000; i++)
            {
                try
                {
                    if (!string.Equals(renderer.Render(parsed, scope), expected, StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref exceptions);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
        await Task.WhenAll(threads).WaitAsync(TimeSpan.FromMinutes(2));

        // assert
        Assert.Equal(0, wrong);
        Assert.Equal(0, exceptions);
        Assert.Equal(400_000, renderer.RenderCount);
    }

    [Fact]
    [Trait("spec", "T-73")]
    public void T73_MergeLocationAndScopeBuild_EachUnderOneMillisecond()
    {
        // arrange
        var parent = Enumerable.Range(0, 10).ToDictionary(i => $"p{i}", i => (object?)$"v{i}");
        var child = Enumerable.Range(0, 10).ToDictionary(i => $"c{i}", i => (object?)i);
        IReadOnlyDictionary<string, object?> parentUser = VariableValue.NormalizeMap(parent);
        IReadOnlyDictionary<string, object?> childUser = VariableValue.NormalizeMap(child);
        Dictionary<string, object?> internalVariables = Internal();
        for (int i = 0; i < 100; i++)
        {
            VariableBundle.MergeUser(parentUser, childUser);
            IsaLocation.LocationPath(AcmeLineA, new IsaLocation(Cell: "C1"));
            RenderScope.Create(parentUser, null, internalVariables, AcmeLineA);
        }

        // act
        long t0 = Stopwatch.GetTimestamp();
        IReadOnlyDictionary<string, object?> merged = VariableBundle.MergeUser(parentUser, childUser);
        long t1 = Stopwatch.GetTimestamp();
        string path = IsaLocation.LocationPath(AcmeLineA, new IsaLocation(Cell: "C1"));
        long t2 = Stopwatch.GetTimestamp();
        RenderScope scope = RenderScope.Create(merged, null, internalVariables, AcmeLineA);
        long t3 = Stopwatch.GetTimestamp();

        // assert
        Assert.Equal(20, merged.Count);
        Assert.Equal("ACME.Factory-1.Line-A.C1", path);
        Assert.Equal(24, scope.Names.Count);
        Assert.True(Stopwatch.GetElapsedTime(t0, t1) < TimeSpan.FromMilliseconds(1));
        Assert.True(Stopwatch.GetElapsedTime(t1, t2) < TimeSpan.FromMilliseconds(1));
        Assert.True(Stopwatch.GetElapsedTime(t2, t3) < TimeSpan.FromMilliseconds(1));
    }
}
