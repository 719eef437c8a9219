using Fsm2.Edge.Templating;
using static Fsm2.Edge.Tests.Templating.TemplateScopes;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>Strictness and errors: 20-templating §8.5 (T-46 … T-61) and the renamed Internal keys (T-20).</summary>
public sealed class LiquidRendererStrictnessTests
{
    [Fact]
    [Trait("spec", "T-46")]
    public void T46_MissingVariable_ExactMessageAndPath_NoOutput()
    {
        // arrange
        RenderScope scope = Scope(new() { ["IP"] = "10.0.0.1" });
        string? output = null;

        // act
        TemplateException ex = Assert.Throws<TemplateException>(() => output = new LiquidRenderer().Render("{{ IP }}:{{ MISSING_PORT }}", scope));

        // assert
        Assert.Equal(TemplateErrorKind.MissingVariable, ex.Kind);
        Assert.Equal("variables not propagated: missing variable 'MISSING_PORT'", ex.Message);
        Assert.Equal("MISSING_PORT", ex.Path);
        Assert.Null(output);
    }

    [Fact]
    [Trait("spec", "T-47")]
    public void T47_NestedMissAndCaseDifference_NameTheFullPath()
    {
        // arrange
        RenderScope scope = Scope(new() { ["IP"] = "10.0.0.1" }, new() { ["api_endpoint"] = "x" });

        // act
        TemplateException nested = Fails("{{ global.nonexistent_key }}", scope);
        TemplateException caseDiffers = Fails("{{ ip }}", scope);

        // assert
        Assert.Equal(TemplateErrorKind.MissingVariable, nested.Kind);
        Assert.Contains("'global.nonexistent_key'", nested.Message, StringComparison.Ordinal);
        Assert.Equal("global.nonexistent_key", nested.Path);
        Assert.Equal(TemplateErrorKind.MissingVariable, caseDiffers.Kind);
        Assert.Contains("'ip'", caseDiffers.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-49")]
    public void T49_OnlyTheFirstFailureIsReported()
    {
        // act
        TemplateException ex = Fails("{{ A }} {{ B }}", Scope());

        // assert
        Assert.Contains("'A'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("B", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-51")]
    public void T51_MissesInsideConditions_Fail_BothOperandsEvaluated()
    {
        // act
        TemplateException condition = Fails("{% if enabled %}y{% endif %}", Scope());
        TemplateException both = Fails("{% if global contains 'r' and global.r == 'eu' %}y{% endif %}", Scope(global: []));

        // assert
        Assert.Equal(TemplateErrorKind.MissingVariable, condition.Kind);
        Assert.Contains("'enabled'", condition.Message, StringComparison.Ordinal);
        Assert.Equal(TemplateErrorKind.MissingVariable, both.Kind);
        Assert.Contains("'global.r'", both.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-52")]
    public void T52_DefaultFilter_CannotRescueAMissingVariable_ReplacesEmpty()
    {
        // act
        TemplateException missing = Fails("{{ X | default: 'a' }}", Scope());
        string empty = Render("{{ X | default: 'a' }}", Scope(new() { ["X"] = "" }));

        // assert
        Assert.Equal(TemplateErrorKind.MissingVariable, missing.Kind);
        Assert.Contains("'X'", missing.Message, StringComparison.Ordinal);
        Assert.Equal("a", empty);
    }

    [Fact]
    [Trait("spec", "T-53")]
    public void T53_LiquidSyntax_ParseErrorsWithPosition()
    {
        // act
        TemplateException unclosed = Fails("Hello {{ Name }", Scope());
        TemplateException open = Fails("{{ Name", Scope());
        TemplateException noEnd = Fails("{% if x %}no end", Scope());

        // assert
        Assert.Equal(TemplateErrorKind.Parse, unclosed.Kind);
        Assert.Equal("parse template: End of tag '}}' was expected at (1:14)", unclosed.Message);
        Assert.Equal((1, 14), (unclosed.Line, unclosed.Column));
        Assert.Equal("FSM2CFG041", unclosed.Code);
        Assert.Equal(TemplateErrorKind.Parse, open.Kind);
        Assert.Equal(TemplateErrorKind.Parse, noEnd.Kind);
        Assert.Contains("{% endif %}", noEnd.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-55")]
    public void T55_GoSyntax_RejectedWithTheLiquidForm_RawAndStringsNotFlagged()
    {
        // act
        TemplateException ifElse = Fails("{{ if eq .s \"active\" }}A{{ else }}B{{ end }}", Scope());
        TemplateException end = Fails("{{ end }}", Scope());
        TemplateException field = Fails("x\n  {{- .PORT -}}", Scope());
        string raw = Render("{% raw %}{{ .IP }}{% endraw %}", Scope());
        string dotInString = Render("{{ x | append: \" .csv\" }}", Scope(new() { ["x"] = "f" }));

        // assert
        Assert.Equal(TemplateErrorKind.Parse, ifElse.Kind);
        Assert.Contains("Go template syntax '{{ if eq .s \"active\" }}' is not supported", ifElse.Message, StringComparison.Ordinal);
        Assert.Contains("{% if", ifElse.Message, StringComparison.Ordinal);
        Assert.Contains("at (1:1)", ifElse.Message, StringComparison.Ordinal);
        Assert.Equal("FSM2CFG040", ifElse.Code);
        Assert.Contains("{% endif %}", end.Message, StringComparison.Ordinal);
        Assert.Equal("parse template: Go template syntax '{{- .PORT -}}' is not supported; write '{{- PORT -}}' (Liquid) at (2:3)", field.Message);
        Assert.Equal("{{ .IP }}", raw);
        Assert.Equal("f .csv", dotInString);
    }

    [Fact]
    [Trait("spec", "T-56")]
    public void T56_IncludeRenderUnknownTagsAndParentheses_AreParseErrors()
    {
        // act
        TemplateException include = Fails("{% include 'x' %}", Scope());
        TemplateException render = Fails("{% render 'x' %}", Scope());
        TemplateException unknown = Fails("{% frob %}", Scope());
        TemplateException parentheses = Fails("{% if (a or b) and c %}x{% endif %}", Scope());

        // assert
        Assert.Equal(TemplateErrorKind.Parse, include.Kind);
        Assert.Contains("'include' is not allowed in Fsm2.Edge templates", include.Message, StringComparison.Ordinal);
        Assert.Equal("FSM2CFG043", include.Code);
        Assert.Contains("'render' is not allowed", render.Message, StringComparison.Ordinal);
        Assert.Contains("Unknown tag 'frob'", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(TemplateErrorKind.Parse, parentheses.Kind);
    }

    [Fact]
    [Trait("spec", "T-57")]
    public void T57_UnknownFilter_IsARenderError()
    {
        // act
        TemplateException ex = Fails("{{ IP | frobnicate }}", Scope(new() { ["IP"] = "1" }));

        // assert
        Assert.Equal(TemplateErrorKind.Render, ex.Kind);
        Assert.Equal("render template: unknown filter 'frobnicate'", ex.Message);
    }

    [Fact]
    [Trait("spec", "T-59")]
    public void T59_PrintingListsOrMaps_IteratingMaps_IndexOutOfRange()
    {
        // arrange
        RenderScope scope = Scope(new() { ["brokers"] = new List<string> { "a", "b" } }, new() { ["a"] = "1", ["b"] = "2" });

        // act
        TemplateException list = Fails("{{ brokers }}", scope);
        TemplateException map = Fails("{{ global }}", scope);
        TemplateException iterate = Fails("{% for k in global %}{% endfor %}", scope);
        TemplateException index = Fails("{{ brokers[5] }}", scope);

        // assert
        Assert.Equal(TemplateErrorKind.Render, list.Kind);
        Assert.Contains("cannot print list 'brokers'", list.Message, StringComparison.Ordinal);
        Assert.Equal("render template: cannot print map 'global' as text; reference one of its keys (a, b)", map.Message);
        Assert.Contains("cannot iterate map 'global'", iterate.Message, StringComparison.Ordinal);
        Assert.Equal(TemplateErrorKind.MissingVariable, index.Kind);
        Assert.Contains("'brokers[5]'", index.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-60")]
    public void T60_Limits_StepsOutputAndTemplateSize()
    {
        // arrange
        RenderScope scope = Scope(new() { ["big"] = new string('x', 600_000) });

        // act
        TemplateException steps = Fails("{% for i in (1..1000000) %}{% endfor %}", scope);
        TemplateException output = Fails("{{ big }}{{ big }}", scope);
        TemplateException size = Fails(new string('a', 300_000), scope);

        // assert
        Assert.Contains("step limit of 100000 exceeded", steps.Message, StringComparison.Ordinal);
        Assert.Contains("output exceeds 1048576 characters", output.Message, StringComparison.Ordinal);
        Assert.Equal(TemplateErrorKind.Parse, size.Kind);
        Assert.Contains("exceeds 262144 characters", size.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-61")]
    public void T61_MemberOfAScalar_AndRawUnsupportedValues_AreRenderErrors()
    {
        // arrange: the raw values bypass normalisation, as if a caller handed them to the renderer directly.
        RenderScope scalar = Scope(new() { ["PORT"] = 502 });
        RenderScope raw = RenderScope.CreateUnchecked(new Dictionary<string, object?> { ["x"] = TimeSpan.FromSeconds(5), ["n"] = double.NaN });

        // act
        TemplateException member = Fails("{{ PORT.foo }}", scalar);
        TemplateException timeSpan = Fails("{{ x }}", raw);
        TemplateException nan = Fails("{{ n }}", raw);

        // assert
        Assert.Equal(TemplateErrorKind.Render, member.Kind);
        Assert.Contains("neither a map nor a list", member.Message, StringComparison.Ordinal);
        Assert.Contains("'x' has unsupported type TimeSpan", timeSpan.Message, StringComparison.Ordinal);
        Assert.Contains("not a finite number", nan.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-20")]
    public void T20_RenamedGoInternalKey_MissingWithRenameHint()
    {
        // act
        TemplateException created = Fails("{{ internal._created_at }}", Scope());
        TemplateException bridged = Fails("{{ internal.bridged_by }}", Scope());

        // assert
        Assert.Equal(TemplateErrorKind.MissingVariable, created.Kind);
        Assert.Contains("'internal._created_at'", created.Message, StringComparison.Ordinal);
        Assert.Contains("use 'internal.created_at'", created.Message, StringComparison.Ordinal);
        Assert.Contains("use 'internal.parent_id'", bridged.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-61")]
    public void NullValue_IsAMissingVariableNamingThePath()
    {
        // act
        TemplateException ex = Fails("{{ m.k }}", Scope(new() { ["m"] = new Dictionary<string, object?> { ["k"] = null } }));

        // assert
        Assert.Equal(TemplateErrorKind.MissingVariable, ex.Kind);
        Assert.Equal("variables not propagated: variable 'm.k' is null", ex.Message);
    }
}
