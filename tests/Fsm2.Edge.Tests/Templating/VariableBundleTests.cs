using System.Text.Json;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers;
using static Fsm2.Edge.Tests.Templating.TemplateScopes;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>Bundle, normalisation, serialization and merge: 20-templating §8.1 and §8.2 (T-01 … T-14).</summary>
public sealed class VariableBundleTests
{
    [Fact]
    [Trait("spec", "T-01")]
    public void T01_ToJson_SortedKeys_InternalNeverWritten()
    {
        // arrange
        var user = new Dictionary<string, object?> { ["PORT"] = 502, ["IP"] = "192.168.1.100" };
        var bundle = new VariableBundle(user, new Dictionary<string, object?> { ["api_endpoint"] = "https://api.example.com" },
            new Dictionary<string, object?> { ["id"] = "internal-123" });

        // act
        string json = bundle.ToJson();

        // assert
        Assert.Equal("{\"user\":{\"IP\":\"192.168.1.100\",\"PORT\":502},\"global\":{\"api_endpoint\":\"https://api.example.com\"}}", json);
    }

    [Fact]
    [Trait("spec", "T-02")]
    public void T02_EmptyBundles_SerializeToEmptyObject()
    {
        // arrange
        VariableBundle empty = VariableBundle.Empty;
        var emptyMaps = new VariableBundle(new Dictionary<string, object?>(), new Dictionary<string, object?>());

        // act
        string[] outputs = [empty.ToJson(), empty.ToYaml(), emptyMaps.ToJson(), emptyMaps.ToYaml()];

        // assert
        Assert.All(outputs, o => Assert.Equal("{}", o));
    }

    [Fact]
    [Trait("spec", "T-03")]
    public void T03_FromYaml_Yaml12CoreSchema()
    {
        // arrange
        const string yaml = "user: {IP: 192.168.1.100, PORT: 502, version: \"2.0\", rate: 100.5, enabled: true, mode: yes}";

        // act
        VariableBundle bundle = VariableBundle.FromYaml(yaml);
        string output = Render("{{ IP }}|{{ PORT }}|{{ version }}|{{ rate }}|{{ enabled }}|{{ mode }}",
            RenderScope.Create(bundle.User, bundle.Global, bundle.Internal, null));

        // assert
        Assert.IsType<long>(bundle.User["PORT"]);
        Assert.Null(bundle.Internal);
        Assert.Equal("192.168.1.100|502|2.0|100.5|true|yes", output);
    }

    [Fact]
    [Trait("spec", "T-03")]
    public void T03_JsonAndYamlRoundTrips_RenderTheSameText()
    {
        // arrange
        var bundle = new VariableBundle(new Dictionary<string, object?>
        {
            ["a"] = 1.0 / 3, ["b"] = "2.0", ["c"] = new List<long> { 1L, 2L }, ["d"] = new Dictionary<string, object?> { ["x y"] = true },
            ["t"] = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero), ["m"] = 2.5m,
        }, new Dictionary<string, object?> { ["g"] = "yes" });
        const string template = "{{ a }}|{{ b }}|{{ c | join: '+' }}|{{ d['x y'] }}|{{ t }}|{{ m }}|{{ global.g }}";
        string expected = Render(template, RenderScope.Create(bundle.User, bundle.Global, null, null));

        // act
        VariableBundle fromJson = VariableBundle.FromJson(bundle.ToJson());
        VariableBundle fromYaml = VariableBundle.FromYaml(bundle.ToYaml());

        // assert
        Assert.Equal(expected, Render(template, RenderScope.Create(fromJson.User, fromJson.Global, null, null)));
        Assert.Equal(expected, Render(template, RenderScope.Create(fromYaml.User, fromYaml.Global, null, null)));
    }

    [Fact]
    [Trait("spec", "T-04")]
    public void T04_JsonElementUser_NormalisedAndRendered()
    {
        // arrange
        using JsonDocument document = JsonDocument.Parse("{\"IP\":\"10.0.0.1\",\"PORT\":8080,\"ok\":true,\"n\":{\"a\":\"b\"},\"list\":[1,2]}");
        var user = (IReadOnlyDictionary<string, object?>)VariableValue.Normalize(document.RootElement, "")!;

        // act
        string output = Render("{{ IP }}:{{ PORT }} {{ ok }} {{ n.a }} {{ list[1] }}", Scope(new(user)));

        // assert
        Assert.Equal("10.0.0.1:8080 true b 2", output);
    }

    [Fact]
    [Trait("spec", "T-06")]
    public void T06_Normalisation_OfClrTypes()
    {
        // arrange
        var user = new Dictionary<string, object?>
        {
            ["a"] = 5, ["b"] = 0.1f, ["c"] = 2.50m, ["d"] = ulong.MaxValue, ["e"] = DayOfWeek.Monday,
            ["f"] = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.FromHours(2)),
        };

        // act
        string output = Render("{{ a }}|{{ b }}|{{ c }}|{{ d }}|{{ e }}|{{ f }}", Scope(user));

        // assert
        Assert.Equal("5|0.1|2.5|18446744073709551615|Monday|2025-01-01T10:00:00Z", output);
    }

    [Theory]
    [Trait("spec", "T-05")]
    [InlineData("timeout", "TimeSpan")]
    [InlineData("bytes", "Byte[]")]
    public void T05_UnsupportedValues_RejectedNamingThePathAndType(string key, string typeName)
    {
        // arrange
        object value = key == "timeout" ? TimeSpan.FromSeconds(5) : new byte[] { 1 };

        // act
        VariableValueException ex = Assert.Throws<VariableValueException>(
            () => new VariableBundle(new Dictionary<string, object?> { ["poll"] = new Dictionary<string, object?> { [key] = value } }));

        // assert
        Assert.Equal("poll." + key, ex.Path);
        Assert.Equal($"variable 'poll.{key}' has unsupported type {typeName}; pass a number or string", ex.Message);
    }

    [Fact]
    [Trait("spec", "T-05")]
    public void NonFiniteAndTooDeep_Rejected()
    {
        // arrange
        object deep = "leaf";
        for (int i = 0; i < 33; i++)
        {
            deep = new Dictionary<string, object?> { ["n"] = deep };
        }

        // act
        VariableValueException nan = Assert.Throws<VariableValueException>(() => VariableValue.Normalize(double.NaN, "gain"));
        VariableValueException tooDeep = Assert.Throws<VariableValueException>(() => VariableValue.Normalize(deep, "d"));

        // assert
        Assert.Equal("variable 'gain' is not a finite number (NaN)", nan.Message);
        Assert.Contains("deeper than 32", tooDeep.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-07")]
    public void T07_CallerMutationAfterHandOver_ChangesNothing()
    {
        // arrange
        var conn = new Dictionary<string, object?> { ["host"] = "a" };
        var bundle = new VariableBundle(new Dictionary<string, object?> { ["conn"] = conn });

        // act
        conn["host"] = "b";
        string output = Render("{{ conn.host }}", Scope(new(bundle.User)));

        // assert
        Assert.Equal("a", output);
    }

    [Fact]
    [Trait("spec", "T-08")]
    public void T08_Flatten_AddsGlobalAndInternalOnlyWhenNotNull()
    {
        // arrange
        var withoutGlobal = new VariableBundle(new Dictionary<string, object?> { ["IP"] = "1" });
        var withGlobal = new VariableBundle(new Dictionary<string, object?> { ["IP"] = "1" }, new Dictionary<string, object?>());

        // act
        IReadOnlyDictionary<string, object?> a = withoutGlobal.Flatten();
        IReadOnlyDictionary<string, object?> b = withGlobal.Flatten();

        // assert
        Assert.Equal(["IP"], a.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["IP", "global"], b.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    [Trait("spec", "T-13")]
    public void T13_MergeUser_ChildWins_OneOverrideReported()
    {
        // arrange
        var parent = new Dictionary<string, object?> { ["IP"] = "10.0.0.1", ["PORT"] = 502 };
        var child = new Dictionary<string, object?> { ["DEVICE_ID"] = "plc-01", ["PORT"] = 503 };
        var overrides = new List<VariableOverride>();

        // act
        IReadOnlyDictionary<string, object?> merged = VariableBundle.MergeUser(parent, child, overrides);

        // assert
        Assert.Equal(["DEVICE_ID", "IP", "PORT"], merged.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("plc-01", merged["DEVICE_ID"]);
        Assert.Equal("10.0.0.1", merged["IP"]);
        Assert.Equal(503L, merged["PORT"]);
        Assert.Equal(new VariableOverride("PORT", 502L, 503L), Assert.Single(overrides));
    }

    [Fact]
    [Trait("spec", "T-14")]
    public void T14_MergeIsShallow_ChildMapReplacesParentMap()
    {
        // arrange
        IReadOnlyDictionary<string, object?> merged = VariableBundle.MergeUser(
            new Dictionary<string, object?> { ["conn"] = new Dictionary<string, object?> { ["host"] = "a", ["port"] = 1 } },
            new Dictionary<string, object?> { ["conn"] = new Dictionary<string, object?> { ["port"] = 2 } });
        RenderScope scope = Scope(new(merged));

        // act
        string port = Render("{{ conn.port }}", scope);
        TemplateException host = Fails("{{ conn.host }}", scope);

        // assert
        Assert.Equal("2", port);
        Assert.Equal(TemplateErrorKind.MissingVariable, host.Kind);
        Assert.Contains("'conn.host'", host.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-22")]
    public void StructuralEquality_IgnoresKeyOrder_ButNotTypes()
    {
        // arrange
        var a = new VariableBundle(new Dictionary<string, object?> { ["x"] = 1, ["y"] = new List<string> { "p", "q" } });
        var b = new VariableBundle(new Dictionary<string, object?> { ["y"] = new List<string> { "p", "q" }, ["x"] = 1L });
        var c = new VariableBundle(new Dictionary<string, object?> { ["x"] = 1.0, ["y"] = new List<string> { "p", "q" } });

        // act
        bool sameValues = a.StructurallyEquals(b);
        bool differentType = a.StructurallyEquals(c);

        // assert
        Assert.True(sameValues);
        Assert.False(differentType);
    }
}
