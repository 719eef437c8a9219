namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>YAML edits the mode-A scenarios share.</summary>
internal static class ScenarioYaml
{
    /// <summary>PLANT with the assembly group's children cut off (the converters arrive with a later reload).</summary>
    public static string WithoutConverters(string plant)
        => plant[..plant.IndexOf("      - type: protocol-converter", StringComparison.Ordinal)].TrimEnd() + " []\n";
}
