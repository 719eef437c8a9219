using Fsm2.Edge.Templating;
using static Fsm2.Edge.Tests.Templating.TemplateScopes;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>ISA-95 location: 20-templating §8.6 (T-63 … T-69) and the examples of §3.4.</summary>
public sealed class IsaLocationTests
{
    [Fact]
    [Trait("spec", "T-63")]
    public void T63_ChildLevelsWinOverParent()
    {
        // arrange
        IsaLocation merged = IsaLocation.Merge(new IsaLocation("ACME", "Factory-1"), new IsaLocation(Site: "Factory-2", Line: "Line-A"));

        // act
        string output = Render("{{ location_path }}|{{ location.site }}", Scope(location: merged));

        // assert
        Assert.Equal("ACME.Factory-2.Line-A|Factory-2", output);
    }

    [Fact]
    [Trait("spec", "T-64")]
    public void T64_AllFiveLevels_InCanonicalOrder()
    {
        // arrange
        var location = new IsaLocation("ACME", "Factory-1", "Area-North", "Line-A", "Cell-5");

        // act
        string output = Render("{{ location_path }}", Scope(location: location));

        // assert
        Assert.Equal("ACME.Factory-1.Area-North.Line-A.Cell-5", output);
    }

    [Fact]
    [Trait("spec", "T-65")]
    public void T65_WorkcellAlias_AndBothSetIsAnError()
    {
        // arrange
        IsaLocation child = IsaLocation.FromMap(new Dictionary<string, object?> { ["workcell"] = "C-7" });
        IsaLocation merged = IsaLocation.Merge(new IsaLocation("ACME"), child);

        // act
        string output = Render("{{ location.cell }}|{{ location.workcell }}|{{ location_path }}", Scope(location: merged));
        TemplateFinding? both = TemplateValidation.CheckLocation(
            new Dictionary<string, object?> { ["cell"] = "a", ["workcell"] = "b" }, "workers[w].location", out _);

        // assert
        Assert.Equal("C-7|C-7|ACME.C-7", output);
        Assert.NotNull(both);
        Assert.Equal("FSM2CFG020", both.Code);
        Assert.Contains("'cell' and 'workcell'", both.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-66")]
    public void T66_UnknownLevel_ListsTheLevels()
    {
        // act
        TemplateFinding? finding = TemplateValidation.CheckLocation(
            new Dictionary<string, object?> { ["enterprise"] = "ACME", ["productionLine"] = "X" }, "workers[w].location", out _);

        // assert
        Assert.NotNull(finding);
        Assert.Equal("FSM2CFG020", finding.Code);
        Assert.Contains("unknown level 'productionLine'", finding.Message, StringComparison.Ordinal);
        Assert.Contains("enterprise, site, area, line, cell (workcell)", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-67")]
    public void T67_MergedLocationWithoutEnterprise_IsFsm2Cfg022()
    {
        // arrange
        IsaLocation siteOnly = IsaLocation.Merge(null, new IsaLocation(Site: "F1"));
        IsaLocation withRuntime = IsaLocation.Merge(new IsaLocation("ACME"), new IsaLocation(Site: "F1"));

        // act
        TemplateFinding? missing = TemplateValidation.CheckEnterprise(siteOnly, "w", "workers[w].location");
        TemplateFinding? valid = TemplateValidation.CheckEnterprise(withRuntime, "w", "workers[w].location");
        TemplateException runtime = Assert.Throws<TemplateException>(() => siteOnly.Validate("pc1/conn"));

        // assert
        Assert.NotNull(missing);
        Assert.Equal("FSM2CFG022", missing.Code);
        Assert.Contains("has no 'enterprise'", missing.Message, StringComparison.Ordinal);
        Assert.Null(valid);
        Assert.Equal(TemplateErrorKind.Location, runtime.Kind);
        Assert.Equal("location: merged location of pc1/conn has no 'enterprise'", runtime.Message);
    }

    [Theory]
    [Trait("spec", "T-68")]
    [InlineData("F.1", "'F.1' must not contain '.'")]
    [InlineData("a/b", "'a/b' must not contain '/'")]
    [InlineData("x+", "'x+' must not contain '+'")]
    [InlineData("#1", "'#1' must not contain '#'")]
    [InlineData("A B", "'A B' must not contain whitespace")]
    [InlineData("", "must not be empty")]
    public void T68_InvalidLevelValues_AreFsm2Cfg021(string value, string expected)
    {
        // act
        TemplateFinding? finding = TemplateValidation.CheckLocation(
            new Dictionary<string, object?> { ["enterprise"] = "ACME", ["site"] = value }, "workers[w].location", out _);

        // assert
        Assert.NotNull(finding);
        Assert.Equal("FSM2CFG021", finding.Code);
        Assert.Contains(expected, finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "T-69")]
    public void T69_NoLocation_EmptyPathAndMissingLevels()
    {
        // arrange
        RenderScope scope = Scope();

        // act
        string path = Render("[{{ location_path }}]", scope);
        TemplateException level = Fails("{{ location.enterprise }}", scope);

        // assert
        Assert.Equal("[]", path);
        Assert.Equal(TemplateErrorKind.MissingVariable, level.Kind);
        Assert.Contains("'location.enterprise'", level.Message, StringComparison.Ordinal);
    }

    [Theory]
    [Trait("spec", "T-64")]
    [InlineData("L-a", "ACME.Factory-1.Line-A.Cell-5")]
    [InlineData("L-d", "ACME.Factory-1.Hall-2.L1.C3")]
    public void LocationPath_ExamplesOfSection34(string example, string expected)
    {
        // arrange
        var parent = new IsaLocation("ACME", "Factory-1");

        // act
        string path = example == "L-a"
            ? IsaLocation.LocationPath(parent, new IsaLocation(Line: "Line-A", Cell: "Cell-5"))
            : IsaLocation.LocationPath(IsaLocation.Merge(parent, new IsaLocation(Area: "Hall-2")), new IsaLocation(Line: "L1", Cell: "C3"));

        // assert
        Assert.Equal(expected, path);
    }
}
