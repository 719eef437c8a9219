using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.ProtocolConverter;

/// <summary>The rendered and validated config of a <c>protocol-converter</c> (50-runtime-monitoring §7.2).</summary>
/// <remarks>Value equality: the node publishes a new desired record only when a field changed.</remarks>
internal sealed record ProtocolConverterConfig(
    string Host,
    int Port,
    TimeSpan ConnectTimeout,
    string DeviceTopic,
    int Qos,
    string PayloadFormat,
    TimeSpan InputTimeout,
    TimeSpan StartTimeout,
    bool SinkEnabled,
    string? WriteTopic)
{
    /// <summary>The default of <c>sink.write_topic</c>, rendered with the converter's scope.</summary>
    public const string DefaultWriteTopic = "umh/v1/{{ location_path }}/_write/#";

    /// <summary>Upper bound of <c>connect_timeout</c>: the default observation timeout (a probe must end inside one collection).</summary>
    public static readonly TimeSpan MaxConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Parses the rendered config; <paramref name="render"/> renders the default write topic.</summary>
    /// <exception cref="FormatException">A field is missing or invalid; the message names it.</exception>
    public static ProtocolConverterConfig Parse(string yaml, Func<string, string> render)
    {
        ConfigFields f = ConfigFields.Parse(yaml, WorkerPack.ProtocolConverterType,
            "host", "port", "connect_timeout", "device_topic", "qos", "payload_format", "input_timeout", "start_timeout", "sink");
        string host = f.String("host", required: true)!;
        int port = (int)f.RequiredInteger("port", 1, 65535);
        TimeSpan connectTimeout = f.Duration("connect_timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1), MaxConnectTimeout);
        string deviceTopic = f.String("device_topic", required: true)!;
        if (!TopicLevels.IsValidFilter(deviceTopic))
        {
            throw f.Bad("device_topic", $"is not a valid MQTT topic filter: '{deviceTopic}'");
        }

        int qos = (int)f.Integer("qos", 1, 0, 1);
        string format = f.Choice("payload_format", PayloadFormats.UmhJson, PayloadFormats.UmhJson, PayloadFormats.Raw);
        TimeSpan inputTimeout = f.Duration("input_timeout", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromDays(1));
        TimeSpan startTimeout = f.Duration("start_timeout", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1));
        ConfigFields? sink = f.Section("sink", "enabled", "write_topic");
        bool sinkEnabled = sink?.Bool("enabled", false) ?? false;
        string? writeTopic = null;
        if (sinkEnabled)
        {
            writeTopic = sink!.String("write_topic") ?? render(DefaultWriteTopic); // sinkEnabled implies the section exists.
            if (!TopicLevels.IsValidFilter(writeTopic))
            {
                throw sink.Bad("write_topic", $"is not a valid MQTT topic filter: '{writeTopic}'");
            }
        }

        return new ProtocolConverterConfig(host, port, connectTimeout, deviceTopic, qos, format, inputTimeout, startTimeout, sinkEnabled, writeTopic);
    }
}
