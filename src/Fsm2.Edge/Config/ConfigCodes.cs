namespace Fsm2.Edge.Config;

/// <summary>The <c>FSM2CFGnnn</c> finding codes of 50-runtime-monitoring §3.8, in one place.</summary>
public static class ConfigCodes
{
    /// <summary>File missing or unreadable.</summary>
    public const int Unreadable = 1;

    /// <summary>YAML syntax error.</summary>
    public const int YamlSyntax = 2;

    /// <summary>Duplicate mapping key.</summary>
    public const int DuplicateKey = 3;

    /// <summary>Unknown key.</summary>
    public const int UnknownKey = 4;

    /// <summary>Missing required field.</summary>
    public const int MissingField = 5;

    /// <summary>Wrong type.</summary>
    public const int WrongType = 6;

    /// <summary>Out of range.</summary>
    public const int OutOfRange = 7;

    /// <summary>Invalid enum value.</summary>
    public const int InvalidEnum = 8;

    /// <summary>Invalid name.</summary>
    public const int InvalidName = 10;

    /// <summary>Duplicate sibling name.</summary>
    public const int DuplicateName = 11;

    /// <summary>Unknown worker type.</summary>
    public const int UnknownWorkerType = 12;

    /// <summary><c>children</c> on a type that takes none.</summary>
    public const int ChildrenNotAllowed = 13;

    /// <summary>Nesting deeper than the profile's <c>max_depth</c>.</summary>
    public const int TooDeep = 14;

    /// <summary>Unknown location level or alias clash.</summary>
    public const int UnknownLevel = 20;

    /// <summary>Invalid location value.</summary>
    public const int InvalidLevelValue = 21;

    /// <summary>Merged location without <c>enterprise</c>.</summary>
    public const int MissingEnterprise = 22;

    /// <summary><c>state</c> together with <c>state_mapping</c>.</summary>
    public const int StateWithMapping = 30;

    /// <summary>Invalid desired state.</summary>
    public const int InvalidDesiredState = 31;

    /// <summary>Invalid state-mapping key or value.</summary>
    public const int InvalidMapping = 32;

    /// <summary>Go template syntax.</summary>
    public const int GoTemplateSyntax = 40;

    /// <summary>Liquid parse error.</summary>
    public const int LiquidParse = 41;

    /// <summary>Missing variable at dry derive.</summary>
    public const int MissingVariable = 42;

    /// <summary>Forbidden Liquid tag.</summary>
    public const int ForbiddenTag = 43;

    /// <summary>Rendered config does not fit the schema (reported by dry derive).</summary>
    public const int RenderedConfigInvalid = 44;

    /// <summary>Unknown hardware profile.</summary>
    public const int UnknownProfile = 50;

    /// <summary>Invalid hardware-profile file.</summary>
    public const int InvalidProfile = 51;

    /// <summary>Invalid broker URI.</summary>
    public const int InvalidBroker = 52;

    /// <summary>Invalid topic.</summary>
    public const int InvalidTopic = 53;

    /// <summary>Reserved or invalid variable key.</summary>
    public const int InvalidVariableKey = 54;

    /// <summary>Invalid duration.</summary>
    public const int InvalidDuration = 55;

    /// <summary>Invalid probe.</summary>
    public const int InvalidProbe = 56;

    /// <summary>Warning: a restart-only field changed on reload.</summary>
    public const int RestartRequired = 60;

    /// <summary>Warning: a per-message variable shadows a User variable.</summary>
    public const int ShadowedVariable = 61;
}
