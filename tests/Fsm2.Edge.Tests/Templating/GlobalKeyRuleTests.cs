using Fsm2.Edge.Config;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Tests.Config;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Templating;

/// <summary>
/// The identifier rule of Global keys (50-runtime-monitoring §3.3, §6.6): <c>^[A-Za-z_][A-Za-z0-9_]*$</c> at every depth,
/// the same for the file's <c>global:</c> section and the fleet payload; User variable names keep their own rule
/// (§3.5, 20-templating §1.5), which also allows <c>-</c>.
/// </summary>
public sealed class GlobalKeyRuleTests
{
    [Theory]
    [Trait("spec", "50 §3.3")]
    [InlineData("a", true)]
    [InlineData("_x9", true)]
    [InlineData("plc_port", true)]
    [InlineData("bad-key", false)]
    [InlineData("9a", false)]
    [InlineData("a.b", false)]
    [InlineData("", false)]
    [InlineData("é", false)]
    public void IsGlobalKey_StrictLiquidIdentifier(string key, bool expected)
    {
        // act
        bool actual = VariableValue.IsGlobalKey(key);

        // assert
        Assert.Equal(expected, actual);
    }

    [Fact]
    [Trait("spec", "50 §3.3")]
    public void IsIdentifier_UserVariableRuleStillAcceptsDash()
    {
        // act, assert: 20-templating §1.5 keeps '-' reachable as a bare name for User variables.
        Assert.True(VariableValue.IsIdentifier("device-port"));
        Assert.False(VariableValue.IsGlobalKey("device-port"));
    }

    [Fact]
    [Trait("spec", "50 §3.3")]
    public void FileGlobal_DashedKeyAtAnyDepth_Fsm2Cfg054NamingTheKey_UserDashedKeyAccepted()
    {
        // arrange
        const string yaml = """
            runtime: { location: { enterprise: acme } }
            global:
              ok: 1
              bad-key: 2
              nested: { good: 3, also-bad: 4 }
            workers:
              - type: group
                name: devices
                variables: { device-port: 15021 }
            """;

        // act
        ConfigLoadResult result = ConfigLoader.Parse(yaml, "plant.yaml", Options());

        // assert: one finding per bad key, at its line, naming it; the dashed User variable is fine.
        Assert.Equal(2, result.Findings.Count);
        Assert.All(result.Findings, f => Assert.Equal(ConfigCodes.InvalidVariableKey, f.Code));
        Assert.All(result.Findings, f => Assert.True(f.IsError));
        Assert.Equal((4, "global.bad-key", "global key 'bad-key' must match ^[A-Za-z_][A-Za-z0-9_]*$"), (result.Findings[0].Line, result.Findings[0].Path, result.Findings[0].Message));
        Assert.Equal((5, "global.nested.also-bad"), (result.Findings[1].Line, result.Findings[1].Path));
        Assert.Contains("'also-bad'", result.Findings[1].Message, StringComparison.Ordinal);
    }

    [Theory]
    [Trait("spec", "50 §6.6")]
    [InlineData("""{"variables":{"bad-key":1}}""", "key 'bad-key' is not an identifier")]
    [InlineData("""{"variables":{"b":{"c":{"x-y":1}}}}""", "key 'x-y' (in global.b.c) is not an identifier")]
    [InlineData("""{"variables":{"list":[{"a-b":1}]}}""", "key 'a-b' (in global.list[]) is not an identifier")]
    public void FleetPayload_DashedKeyAtAnyDepth_RejectedNamingTheKey(string payload, string reason)
    {
        // act
        VariableValueException ex = Assert.Throws<VariableValueException>(() => GlobalVariables.ParseFleetPayload(System.Text.Encoding.UTF8.GetBytes(payload), out _));

        // assert
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    private static ConfigLoadOptions Options()
    {
        var factory = new WorkerFactory();
        GroupWorker.Register(factory, new GroupChildrenTable());
        return new ConfigLoadOptions { Registry = factory, Profiles = ConfigTestFiles.ShippedLookup };
    }
}
