namespace Fsm2.Edge.Workers.Pack;

/// <summary>The <c>payload_format</c> values of the flows (50-runtime-monitoring §7.4).</summary>
internal static class PayloadFormats
{
    /// <summary>Forward the bytes unchanged (the device already speaks UMH JSON).</summary>
    public const string UmhJson = "umh-json";

    /// <summary>Wrap a scalar payload as <c>{"timestamp_ms":…,"value":…}</c>.</summary>
    public const string Raw = "raw";
}
