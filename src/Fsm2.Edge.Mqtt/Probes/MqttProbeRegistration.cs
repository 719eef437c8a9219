using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Observability;
using Fsm2.Edge.Supervision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fsm2.Edge.Mqtt.Probes;

/// <summary>
/// Registers the <c>mqtt</c> probe type (<see cref="MqttRoundTripProbe"/>, shared/spec/30-supervision.md §10.2, §10.4)
/// in a runtime's probe registry, so nodes can declare <c>probes: [{ type: mqtt, id: ..., target: ... }]</c>.
/// </summary>
/// <remarks>
/// <para><b>Target.</b> <c>embedded</c> (the runtime's <see cref="MqttProbeDefaults.EmbeddedBroker"/>),
/// <c>mqtt://host:port</c> or <c>mqtts://host:port</c>, with the rules of <see cref="BrokerEndpoint"/> (port
/// omitted: 1883 / 8883; no credentials, path or query in the URI).</para>
/// <para><b>Errors.</b> An invalid target or setting throws <see cref="BrokerConfigException"/> whose message starts with
/// the field, <c>probes[{id}].target</c> (or <c>.interval</c>, <c>.timeout</c>, <c>.miss_threshold</c>; a runtime-level
/// field such as <c>runtime.mqtt.keepalive</c> for the shared settings). The runtime turns it into a configuration error
/// of the node that declared the probe (its status and <c>probe_invalid</c> name the node); the node's other probes
/// and its work keep running.</para>
/// <para><b>Metrics.</b> Under the runtime's probe scheduler the scheduler records <c>fsm2_probe_results_total</c> and
/// <c>fsm2_probe_rtt_seconds</c>, so probes created here do not record them a second time; they still count
/// <c>fsm2_probe_late_echoes_total</c>.</para>
/// </remarks>
public static class MqttProbeRegistration
{
    /// <summary>The probe type key: <c>mqtt</c>.</summary>
    public const string MqttType = "mqtt";

    /// <summary>Registers the <c>mqtt</c> probe type in <paramref name="runtime"/>'s <see cref="SupervisorRuntime.Probes"/>.
    /// Call it before the configuration that uses the type is applied.</summary>
    /// <param name="runtime">The runtime.</param>
    /// <param name="defaults">What every probe of the runtime shares; validated here.</param>
    /// <returns><paramref name="runtime"/>, for chaining.</returns>
    /// <exception cref="BrokerConfigException">A runtime-level field of <paramref name="defaults"/> is invalid.</exception>
    /// <exception cref="InvalidOperationException">The type is already registered.</exception>
    public static SupervisorRuntime AddMqttProbes(this SupervisorRuntime runtime, MqttProbeDefaults defaults)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _ = runtime.Probes.AddMqttProbes(defaults);
        return runtime;
    }

    /// <summary>Registers the <c>mqtt</c> probe type in a probe registry.</summary>
    /// <param name="probes">The registry.</param>
    /// <param name="defaults">What every probe of the runtime shares; validated here.</param>
    /// <returns><paramref name="probes"/>, for chaining.</returns>
    /// <exception cref="BrokerConfigException">A runtime-level field of <paramref name="defaults"/> is invalid.</exception>
    /// <exception cref="InvalidOperationException">The type is already registered.</exception>
    public static ProbeFactory AddMqttProbes(this ProbeFactory probes, MqttProbeDefaults defaults)
    {
        ArgumentNullException.ThrowIfNull(probes);
        ArgumentNullException.ThrowIfNull(defaults);
        defaults.Validate();
        probes.Register(MqttType, (spec, time) => Create(spec, time, defaults));
        ILogger logger = Logger(defaults);
        Log.MqttProbeTypeRegistered(logger, defaults.RuntimeId, defaults.TopicPrefix, defaults.EmbeddedBroker is not null);
        return probes;
    }

    /// <summary>Builds the probe one <see cref="ProbeSpec"/> declares (what the registered factory runs).</summary>
    /// <param name="spec">The spec, with interval, timeout and miss threshold resolved by the runtime.</param>
    /// <param name="time">The runtime clock (deadlines and RTT).</param>
    /// <param name="defaults">What every probe of the runtime shares.</param>
    /// <returns>The probe; it connects at its first run.</returns>
    /// <exception cref="BrokerConfigException">The target or a setting is invalid; the message starts with the field.</exception>
    public static MqttRoundTripProbe Create(ProbeSpec spec, TimeProvider time, MqttProbeDefaults defaults)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(defaults);
        ILogger logger = Logger(defaults);
        string prefix = $"probes[{spec.Id}].";
        try
        {
            BrokerEndpoint endpoint = ResolveTarget(spec, defaults, prefix + "target");
            var options = new MqttRoundTripProbeOptions
            {
                Id = spec.Id,
                RuntimeId = defaults.RuntimeId,
                InstanceId = defaults.InstanceId,
                TopicPrefix = defaults.TopicPrefix,
                Interval = spec.Interval,
                Timeout = spec.Timeout,
                MissThreshold = spec.MissThreshold,
            };
            options.Validate(prefix);
            var connection = new MqttConnectionOptions
            {
                Endpoint = endpoint,
                Username = defaults.Username,
                Password = defaults.Password,
                KeepAlive = defaults.KeepAlive,
                Protocol = defaults.Protocol,
                TlsCaFile = endpoint.UseTls ? defaults.TlsCaFile : null,
                TlsInsecureSkipVerify = endpoint.UseTls && defaults.TlsInsecureSkipVerify,
            };
            connection.Validate("runtime.");
            var probe = new MqttRoundTripProbe(options, connection, time, defaults.LoggerFactory, defaults.MeterFactory, recordRunMetrics: false);
            Log.MqttProbeCreated(logger, spec.Id, spec.Target, endpoint.ToString(), probe.ClientId);
            return probe;
        }
        catch (BrokerConfigException ex)
        {
            Log.MqttProbeRejected(logger, spec.Id ?? "", spec.Target ?? "", ex.Field, ex.Message);
            throw;
        }
    }

    private static BrokerEndpoint ResolveTarget(ProbeSpec spec, MqttProbeDefaults defaults, string field)
    {
        // Empty would parse as 'embedded' (the runtime.broker default); a probe must say what it checks.
        if (string.IsNullOrWhiteSpace(spec.Target))
        {
            throw new BrokerConfigException(field, "must not be empty; expected 'embedded', mqtt://host:port or mqtts://host:port");
        }

        if (!BrokerEndpoint.TryParse(spec.Target, out BrokerEndpoint? endpoint, out string? error))
        {
            throw new BrokerConfigException(field, error);
        }

        if (endpoint.Kind != BrokerKind.Embedded)
        {
            return endpoint;
        }

        if (defaults.EmbeddedBroker is not { } broker)
        {
            throw new BrokerConfigException(field, "'embedded', but this runtime runs no embedded broker; use mqtt://host:port");
        }

        if (broker.Port == 0)
        {
            throw new BrokerConfigException(field, "'embedded', but the embedded broker has not started yet, so its port is unknown");
        }

        return broker.Endpoint;
    }

    private static ILogger Logger(MqttProbeDefaults defaults) =>
        defaults.LoggerFactory?.CreateLogger("Fsm2.Edge.Mqtt") ?? NullLogger.Instance;
}
