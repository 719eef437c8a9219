using Fsm2.Edge.Templating;
using static Fsm2.Edge.Tests.Templating.TemplateScopes;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>The templating checks the config pipeline runs (T-11, T-12, T-26, T-74 validation part).</summary>
public sealed class TemplateValidationTests
{
    [Fact]
    [Trait("spec", "T-11")]
    public void T11_ReservedVariableKey_IsFsm2Cfg054()
    {
        // act
        IReadOnlyList<TemplateFinding> findings = TemplateValidation.CheckVariables(
            new Dictionary<string, object?> { ["location_path"] = "x" }, "workers[w].variables");

        // assert
        TemplateFinding finding = Assert.Single(findings);
        Assert.Equal("FSM2CFG054", finding.Code);
        Assert.Equal(FindingSeverity.Error, finding.Severity);
        Assert.EndsWith("variables.location_path", finding.Field, StringComparison.Ordinal);
        Assert.Contains("'location_path' is reserved", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-12")]
    public void T12_LiquidLiteralKey_RendersTheLiteral_AndValidationWarns()
    {
        // arrange
        var user = new Dictionary<string, object?> { ["empty"] = "E" };

        // act
        string output = Render("[{{ empty }}]", Scope(user));
        IReadOnlyList<TemplateFinding> findings = TemplateValidation.CheckVariables(user, "workers[w].variables");

        // assert
        Assert.Equal("[]", output);
        TemplateFinding finding = Assert.Single(findings);
        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.Contains("'empty'", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-26")]
    public void T26_LiquidSyntaxError_IsFsm2Cfg041WithPosition()
    {
        // act
        TemplateFinding? finding = TemplateValidation.CheckTemplate("Hello {{ Name }", "workers[w].config");

        // assert
        Assert.NotNull(finding);
        Assert.Equal("FSM2CFG041", finding.Code);
        Assert.Equal("workers[w].config", finding.Field);
        Assert.Contains("(1:14)", finding.Message, StringComparison.Ordinal);
        Assert.Equal(1, finding.Error!.Line);
    }

    [Fact]
    [Trait("spec", "T-74")]
    public void T74_GoSyntaxInNamedTemplate_IsFsm2Cfg040()
    {
        // act
        TemplateFinding? finding = TemplateValidation.CheckTemplate("umh/v1/{{ .tag }}", "workers[w].templates.uns_topic");

        // assert
        Assert.NotNull(finding);
        Assert.Equal("FSM2CFG040", finding.Code);
        Assert.Contains("write '{{ tag }}'", finding.Message, StringComparison.Ordinal);
    }
}
