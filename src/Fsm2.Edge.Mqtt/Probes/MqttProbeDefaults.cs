using System.Diagnostics.Metrics;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Mqtt.Connection;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Probes;

/// <summary>
/// What every <c>mqtt</c> probe of a runtime shares (shared/spec/30-supervision.md §10.2): the runtime's identity and
/// topic prefix, its embedded broker (for the target <c>embedded</c>), and the runtime's <c>mqtt.*</c> client settings.
/// Handed once to <see cref="MqttProbeRegistration.AddMqttProbes(Supervision.SupervisorRuntime, MqttProbeDefaults)"/>.
/// </summary>
/// <remarks>
/// A probe's own <see cref="Health.ProbeSpec"/> gives its id, target, interval, timeout and miss threshold. The
/// credentials, keep-alive and protocol below apply to every target; the TLS settings apply only to <c>mqtts://</c>
/// targets and are ignored for <c>mqtt://</c> and <c>embedded</c> ones (a runtime whose monitoring broker uses TLS may
/// still probe a plain local broker).
/// </remarks>
public sealed class MqttProbeDefaults
{
    /// <summary>The runtime id (<c>runtime.id</c>): probe client ids are <c>{RuntimeId}-probe-{id}</c>.</summary>
    public required string RuntimeId { get; init; }

    /// <summary>The runtime's random per-process instance id, which opens every probe payload.</summary>
    public required Guid InstanceId { get; init; }

    /// <summary>The runtime topic prefix (<c>runtime.topic_prefix</c>); probes publish under <c>{prefix}/_health/</c>.</summary>
    public required string TopicPrefix { get; init; }

    /// <summary>
    /// The runtime's embedded broker, the broker of the target <c>embedded</c>; <see langword="null"/> when the runtime
    /// runs none, which makes that target a configuration error of the node that declares it. It must have started
    /// (its port is known) before a node attaches such a probe.
    /// </summary>
    public EmbeddedBroker? EmbeddedBroker { get; init; }

    /// <summary>The user name (<c>mqtt.username</c>), or <see langword="null"/> for anonymous access.</summary>
    public string? Username { get; init; }

    /// <summary>The password (read from the variable <c>mqtt.password_env</c> names), or <see langword="null"/>.</summary>
    public string? Password { get; init; }

    /// <summary>The MQTT keep-alive (<c>mqtt.keepalive</c>, default 15 s).</summary>
    public TimeSpan KeepAlive { get; init; } = MqttConnectionOptions.DefaultKeepAlive;

    /// <summary>The protocol version (<c>mqtt.protocol</c>, default 5).</summary>
    public MqttProtocol Protocol { get; init; } = MqttProtocol.V5;

    /// <summary>The CA file (<c>mqtt.tls.ca_file</c>) for <c>mqtts://</c> targets only.</summary>
    public string? TlsCaFile { get; init; }

    /// <summary>Accept any broker certificate (<c>mqtt.tls.insecure_skip_verify</c>) for <c>mqtts://</c> targets only.</summary>
    public bool TlsInsecureSkipVerify { get; init; }

    /// <summary>The log sink of the probes (category <c>Fsm2.Edge.Mqtt</c>); none when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The meter source of the probes' own instruments (late echoes); a private <c>Fsm2.Edge</c> meter when null.</summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Checks the runtime-level fields.</summary>
    /// <exception cref="BrokerConfigException">A field is invalid; the message names it (<c>runtime.id</c>,
    /// <c>runtime.topic_prefix</c>, <c>runtime.instance</c>).</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RuntimeId))
        {
            throw new BrokerConfigException("runtime.id", "the runtime id is empty; probe client ids are {runtime}-probe-{id}");
        }

        if (InstanceId == Guid.Empty)
        {
            throw new BrokerConfigException("runtime.instance", "the runtime instance id is empty; it must be random per process");
        }

        if (MqttRoundTripProbeOptions.TopicError(TopicPrefix) is string topicError)
        {
            throw new BrokerConfigException("runtime.topic_prefix", topicError);
        }
    }
}
