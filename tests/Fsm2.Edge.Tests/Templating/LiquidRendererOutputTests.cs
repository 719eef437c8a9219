using Fsm2.Edge.Templating;
using static Fsm2.Edge.Tests.Templating.TemplateScopes;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>Rendered output: 20-templating §8.4 (T-30 … T-45), template input → expected output.</summary>
public sealed class LiquidRendererOutputTests
{
    [Fact]
    [Trait("spec", "T-30")]
    public void T30_PlainSubstitution_RendersEveryOccurrence()
    {
        // arrange
        RenderScope scope = Scope(new() { ["IP"] = "192.168.1.100", ["PORT"] = 502, ["name"] = "s-1" });

        // act
        string output = Render("modbus://{{ IP }}:{{ PORT }} {{ name }}_in {{ name }}_out", scope);

        // assert
        Assert.Equal("modbus://192.168.1.100:502 s-1_in s-1_out", output);
    }

    [Fact]
    [Trait("spec", "T-31")]
    public void T31_GlobalAndInternal_RenderedFromTheirNamespaces()
    {
        // arrange
        RenderScope scope = Scope(global: new() { ["api_endpoint"] = "https://api.example.com" });

        // act
        string output = Render("api: {{ global.api_endpoint }}, id: {{ internal.id }}", scope);

        // assert
        Assert.Equal("api: https://api.example.com, id: w-1", output);
    }

    [Fact]
    [Trait("spec", "T-32")]
    public void T32_EmptyTemplate_RendersEmptyWithoutParsing()
    {
        // arrange
        var renderer = new LiquidRenderer();

        // act
        string output = renderer.Render("", RenderScope.Empty);

        // assert
        Assert.Equal("", output);
        Assert.Equal(0, renderer.ParseCount);
        Assert.Equal(0, renderer.CacheCount);
    }

    [Fact]
    [Trait("spec", "T-33")]
    public void T33_YamlConfigWithLocationPath_ByteExact()
    {
        // arrange
        RenderScope scope = Scope(new() { ["IP"] = "192.168.1.100", ["PORT"] = 502, ["name"] = "test_bridge" }, location: AcmeLineA);
        const string template = "\ninput:\n  mqtt:\n    urls: [\"tcp://{{ IP }}:{{ PORT }}\"]\noutput:\n  kafka:\n    topic: \"umh.v1.{{ location_path }}.{{ name }}\"\n";

        // act
        string output = Render(template, scope);

        // assert
        Assert.Equal("\ninput:\n  mqtt:\n    urls: [\"tcp://192.168.1.100:502\"]\noutput:\n  kafka:\n    topic: \"umh.v1.ACME.Factory-1.Line-A.test_bridge\"\n", output);
    }

    [Fact]
    [Trait("spec", "T-34")]
    public void T34_StringsAreInsertedRawWithoutEscaping()
    {
        // arrange
        RenderScope scope = Scope(new() { ["P"] = "/data/logs", ["Q"] = "<\"'>", ["N"] = "a\nb", ["U"] = "https://x/?a=1&b=2" });

        // act
        string output = Render("p={{ P }}, q=\"{{ Q }}\", n={{ N }}, u={{ U }}", scope);

        // assert
        Assert.Equal("p=/data/logs, q=\"<\"'>\", n=a\nb, u=https://x/?a=1&b=2", output);
    }

    [Theory]
    [Trait("spec", "T-35")]
    [InlineData("active", "running")]
    [InlineData("idle", "stopped")]
    public void T35_IfElse_ChoosesByComparison(string state, string expected)
    {
        // arrange
        RenderScope scope = Scope(new() { ["parent_state"] = state });

        // act
        string output = Render("{% if parent_state == \"active\" %}running{% else %}stopped{% endif %}", scope);

        // assert
        Assert.Equal(expected, output);
    }

    [Fact]
    [Trait("spec", "T-36")]
    public void T36_Numbers_PrintPlainShortestDigits()
    {
        // arrange
        RenderScope scope = Scope(new()
        {
            ["i"] = 8080L, ["f"] = 100.5, ["d"] = 8080.0, ["b"] = true, ["l"] = 1234567890123L, ["big"] = 1e20, ["third"] = 1.0 / 3,
        });

        // act
        string output = Render("{{ i }}|{{ f }}|{{ d }}|{{ b }}|{{ l }}|{{ big }}|{{ third }}", scope);

        // assert
        Assert.Equal("8080|100.5|8080|true|1234567890123|100000000000000000000|0.3333333333333333", output);
    }

    [Fact]
    [Trait("spec", "T-37")]
    public void T37_Lists_JoinSizeFirstIndexAndForloop()
    {
        // arrange
        RenderScope scope = Scope(new()
        {
            ["brokers"] = new List<string> { "a:9092", "b:9092" },
            ["hosts"] = new[] { new Dictionary<string, object?> { ["host"] = "a" }, new Dictionary<string, object?> { ["host"] = "b" } },
        });

        // act
        string lists = Render("{{ brokers | join: ',' }}|{{ brokers.size }}|{{ brokers.first }}|{{ brokers[1] }}", scope);
        string loop = Render("{% for h in hosts %}{{ h.host }}{% unless forloop.last %},{% endunless %}{% endfor %}", scope);

        // assert
        Assert.Equal("a:9092,b:9092|2|a:9092|b:9092", lists);
        Assert.Equal("a,b", loop);
    }

    [Fact]
    [Trait("spec", "T-38")]
    public void T38_NonIdentifierKeys_ReachableWithBracketsAndDashes()
    {
        // arrange
        RenderScope scope = Scope(
            new() { ["m"] = new Dictionary<string, object?> { ["k-1"] = "v" }, ["my-var"] = "dash" },
            new() { ["api.endpoint"] = "x" });

        // act
        string output = Render("{{ global['api.endpoint'] }} {{ m['k-1'] }} {{ my-var }}", scope);

        // assert
        Assert.Equal("x v dash", output);
    }

    [Fact]
    [Trait("spec", "T-39")]
    public void T39_JsonFilter_QuotesStringsAndSortsMaps()
    {
        // arrange
        RenderScope scope = Scope(new() { ["s"] = "a \"q\"\nz" }, location: new IsaLocation("ACME", "F1"));

        // act
        string text = Render("v: {{ s | json }}", scope);
        string map = Render("{{ location | json }}", scope);

        // assert
        Assert.Equal("v: \"a \\u0022q\\u0022\\nz\"", text);
        Assert.Equal("{\"enterprise\":\"ACME\",\"site\":\"F1\"}", map);
    }

    [Fact]
    [Trait("spec", "T-40")]
    public void T40_TagLinesKeepNewlines_TrimMarkersRemoveThem()
    {
        // arrange
        RenderScope scope = Scope(new() { ["x"] = true });

        // act
        string kept = Render("a\n{% if x %}\nb\n{% endif %}\nc", scope);
        string trimmed = Render("a\n{%- if x -%}\nb\n{%- endif -%}\nc", scope);

        // assert
        Assert.Equal("a\n\nb\n\nc", kept);
        Assert.Equal("abc", trimmed);
    }

    [Fact]
    [Trait("spec", "T-41")]
    public void T41_ValuesAreData_TemplateTextInAValueIsEmittedLiterally()
    {
        // arrange
        RenderScope scope = Scope(new() { ["x"] = "{{ y }}" });

        // act
        string output = Render("v={{ x }}", scope);

        // assert
        Assert.Equal("v={{ y }}", output);
    }

    [Fact]
    [Trait("spec", "T-42")]
    public void T42_UnsTopic_UsesLocationPath()
    {
        // arrange
        RenderScope scope = Scope(new() { ["tag"] = "temperature" }, location: AcmeLineA);

        // act
        string output = Render("umh/v1/{{ location_path }}/_historian/{{ tag }}", scope);

        // assert
        Assert.Equal("umh/v1/ACME.Factory-1.Line-A/_historian/temperature", output);
    }

    [Fact]
    [Trait("spec", "T-44")]
    public void T44_Contains_IsThePresenceTest_NullCountsAsAbsent()
    {
        // arrange
        const string template = "{% if global contains 'region' %}r={{ global.region }}{% else %}none{% endif %}";

        // act
        string absent = Render(template, Scope(global: new() { ["a"] = "1" }));
        string present = Render(template, Scope(global: new() { ["region"] = "eu" }));
        string isNull = Render(template, Scope(global: new() { ["region"] = null }));

        // assert
        Assert.Equal("none", absent);
        Assert.Equal("r=eu", present);
        Assert.Equal("none", isNull);
    }

    [Fact]
    [Trait("spec", "T-45")]
    public void T45_Truthiness_OnlyFalseAndNilAreFalse_AndOrRightToLeft()
    {
        // arrange
        const string truthy = "{% if X %}t{% else %}f{% endif %}";

        // act
        string emptyString = Render(truthy, Scope(new() { ["X"] = "" }));
        string zero = Render(truthy, Scope(new() { ["X"] = 0 }));
        string blank = Render("{% if X != blank %}t{% else %}f{% endif %}", Scope(new() { ["X"] = "" }));
        string noPrecedence = Render("{% if false and false or true %}T{% else %}F{% endif %}", Scope());

        // assert
        Assert.Equal("t", emptyString);
        Assert.Equal("t", zero);
        Assert.Equal("f", blank);
        Assert.Equal("F", noPrecedence);
    }
}
