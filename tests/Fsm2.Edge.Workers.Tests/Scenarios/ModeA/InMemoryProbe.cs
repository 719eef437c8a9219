using System.Globalization;
using System.Text;
using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Mqtt.Client;

namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>
/// The <c>mqtt</c> probe type of mode A: the round trip of 30-supervision §10.2 on the in-memory broker. Its own client
/// publishes a numbered message on <c>{prefix}/_health/{id}/{seq}</c> and counts the run a success when the echo came
/// back (delivery is synchronous, so the run completes inside the fake clock's timer callback); a client the broker
/// dropped reports <see cref="ProbeOutcome.Disconnected"/> (it reconnects with the broker's restart).
/// </summary>
internal sealed class InMemoryProbe : IInfrastructureProbe, IEdgeMessageHandler, IAsyncDisposable
{
    private readonly InMemoryEdgeMqtt _client;
    private readonly string _topic;
    private long _sent;
    private long _echoed;

    public InMemoryProbe(InMemoryMqttBroker broker, string prefix, ProbeSpec spec)
    {
        Id = spec.Id;
        Interval = spec.Interval;
        Timeout = spec.Timeout;
        MissThreshold = spec.MissThreshold;
        _topic = $"{prefix}/_health/{spec.Id}";
        _client = broker.Connect("probe-" + spec.Id);
        _ = _client.Route(_topic + "/#", EdgeQos.AtLeastOnce, this);
    }

    public string Id { get; }

    public TimeSpan Interval { get; }

    public TimeSpan Timeout { get; }

    public int MissThreshold { get; }

    /// <summary>As the MQTT probe words it, with the in-memory broker as the endpoint.</summary>
    public string ManualSteps => $"check mqtt://in-memory; mosquitto_sub -t '{_topic[..^("/" + Id).Length]}/#' -v";

    /// <summary>Runs so far.</summary>
    public long Runs => Interlocked.Read(ref _sent);

    public async ValueTask<ProbeOutcome> RunAsync(CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            return ProbeOutcome.Disconnected;
        }

        long seq = Interlocked.Increment(ref _sent);
        try
        {
            await _client.PublishAsync(_topic + "/" + seq.ToString(CultureInfo.InvariantCulture), Encoding.UTF8.GetBytes("ping"), EdgeQos.AtLeastOnce, retain: false, cancellationToken);
        }
        catch (MqttPublishException)
        {
            return ProbeOutcome.Disconnected;
        }

        return Interlocked.Read(ref _echoed) == seq ? ProbeOutcome.Success : ProbeOutcome.Miss;
    }

    public void OnMessage(in EdgeMqttMessage message)
    {
        int slash = message.Topic.LastIndexOf('/');
        if (long.TryParse(message.Topic.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long seq))
        {
            Interlocked.Exchange(ref _echoed, seq);
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
