namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>The mosquitto fixture behind <see cref="ITestBroker"/>. Missing mosquitto skips outside CI and fails under CI.</summary>
public sealed class MosquittoTestBroker : ITestBroker
{
    // mosquitto ACL for anonymous clients: read access everywhere, write access nowhere. mosquitto 2.0 answers a
    // denied QoS 1 publish from an MQTT 5 client with PUBACK reason 135 (not authorised).
    private const string DenyPublishAcl = "topic read #\n";

    private readonly MosquittoBroker _broker;

    private MosquittoTestBroker(MosquittoBroker broker)
    {
        _broker = broker;
    }

    /// <inheritdoc/>
    public string Name => "mosquitto";

    /// <inheritdoc/>
    public int Port => _broker.Port;

    /// <summary>Starts mosquitto on a free loopback port.</summary>
    /// <exception cref="NotSupportedException"><see cref="BrokerPolicy.DenySubscriptions"/>, which mosquitto's acl_file
    /// cannot express.</exception>
    public static MosquittoTestBroker Start(BrokerPolicy policy = BrokerPolicy.Open) => policy switch
    {
        BrokerPolicy.Open => new(MosquittoBroker.Start()),
        BrokerPolicy.DenyPublish => new(MosquittoBroker.Start(acl: DenyPublishAcl)),
        _ => throw new NotSupportedException($"mosquitto's acl_file cannot express {policy}"),
    };

    /// <inheritdoc/>
    public Task StopAsync()
    {
        _broker.Stop();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task RestartAsync()
    {
        _broker.Restart();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _broker.Dispose();
        return ValueTask.CompletedTask;
    }
}
