using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.SourceFlow;

/// <summary>Whether a flow bridges device → UNS (<c>source-flow</c>) or UNS → device (<c>sink-flow</c>).</summary>
internal enum FlowRole
{
    Source,
    Sink,
}

/// <summary>
/// The derived config of a flow: what it subscribes to, the output-topic template and the scope to render it with.
/// </summary>
/// <remarks>
/// <see cref="Scope"/> compares by reference: the runtime builds a new scope exactly when the node's User, Global or
/// location changed, so a new scope is the signal to clear the per-tag topic cache (§7.4).
/// </remarks>
internal sealed record FlowConfig(
    FlowRole Role,
    string InputTopic,
    string InputPrefix,
    EdgeQos Qos,
    string PayloadFormat,
    TimeSpan InputTimeout,
    ParsedTemplate OutputTemplate,
    RenderScope Scope)
{
    /// <summary>The User variable through which a converter hands its <c>uns_topic</c> template text to its source.</summary>
    public const string UnsTopicVariable = "uns_topic_template";

    /// <summary>The User variable through which a converter hands its <c>device_write_topic</c> template text to its sink.</summary>
    public const string DeviceWriteTopicVariable = "device_write_topic_template";

    /// <summary>Reads a flow's rendered config (source: <c>device_topic</c>, sink: <c>write_topic</c>).</summary>
    /// <exception cref="FormatException">A field or the output template is invalid; the message names it.</exception>
    public static FlowConfig Parse(FlowRole role, UserSpec spec, string nodePath, WorkerPackOptions options)
    {
        string type = role == FlowRole.Source ? WorkerPack.SourceFlowType : WorkerPack.SinkFlowType;
        string inputKey = role == FlowRole.Source ? "device_topic" : "write_topic";
        ConfigFields f = role == FlowRole.Source
            ? ConfigFields.Parse(spec.Config, type, inputKey, "qos", "payload_format", "input_timeout")
            : ConfigFields.Parse(spec.Config, type, inputKey, "qos");
        string input = f.String(inputKey, required: true)!;
        if (!TopicLevels.IsValidFilter(input))
        {
            throw f.Bad(inputKey, $"is not a valid MQTT topic filter: '{input}'");
        }

        var qos = (EdgeQos)f.Integer("qos", 1, 0, 1);
        string format = role == FlowRole.Source
            ? f.Choice("payload_format", PayloadFormats.UmhJson, PayloadFormats.UmhJson, PayloadFormats.Raw)
            : PayloadFormats.UmhJson;
        TimeSpan inputTimeout = f.Duration("input_timeout", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromDays(1));

        string templateName = role == FlowRole.Source ? "uns_topic" : "device_write_topic";
        string variable = role == FlowRole.Source ? UnsTopicVariable : DeviceWriteTopicVariable;
        string text = options.Templates?.Invoke(nodePath)?.GetValueOrDefault(templateName)
            ?? (spec.Variables.User.TryGetValue(variable, out object? v) ? v as string : null)
            ?? (role == FlowRole.Source ? WorkerPack.DefaultUnsTopicTemplate : WorkerPack.DefaultDeviceWriteTopicTemplate);
        ParsedTemplate template = options.Renderer.Parse(text);
        if (template.Error is { } error)
        {
            throw new FormatException($"{type} template '{templateName}': {error.Message}", error);
        }

        RenderScope scope = spec.Scope ?? RenderScope.Create(spec.Variables.User, spec.Variables.Global, spec.Variables.Internal, null);
        return new FlowConfig(role, input, TopicLevels.FixedPrefix(input), qos, format, inputTimeout, template, scope);
    }
}

/// <summary>What a flow observes (50-runtime-monitoring §7.4), plus the growth of its error counters since the previous observation.</summary>
internal sealed record FlowObserved(
    bool Subscribed,
    bool BrokerConnected,
    long MessagesIn,
    long MessagesOut,
    long Dropped,
    long RenderErrors,
    long DroppedSincePrevious,
    long RenderErrorsSincePrevious,
    DateTimeOffset? LastMessageAt,
    DateTimeOffset? SubscribedAt,
    int BufferDepth,
    string? LastError);
