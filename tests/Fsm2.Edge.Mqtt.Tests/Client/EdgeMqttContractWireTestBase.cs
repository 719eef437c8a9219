using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Tests.TestSupport;

namespace Fsm2.Edge.Mqtt.Tests.Client;

/// <summary>The contract over a real socket: <see cref="EdgeMqttClient"/> against a real broker. A connection is cut
/// abnormally by closing a <see cref="PausableTcpProxy"/> between client and broker.</summary>
public abstract class EdgeMqttContractWireTestBase : EdgeMqttContractTestBase
{
    /// <inheritdoc/>
    protected override async Task<IEdgeMqtt> ConnectAsync(ITestBroker broker, string clientId, EdgeWillMessage? will = null) =>
        await EdgeMqttClients.ConnectAsync(broker.Endpoint, clientId, will);

    /// <inheritdoc/>
    protected override async Task<DroppableClient> ConnectDroppableAsync(ITestBroker broker, string clientId, EdgeWillMessage will)
    {
        PausableTcpProxy proxy = PausableTcpProxy.Start(broker.Port);
        EdgeMqttClient client = await EdgeMqttClients.ConnectAsync(BrokerEndpoint.External("127.0.0.1", proxy.Port), clientId, will);
        int dropped = 0;
        return new DroppableClient(
            client,
            async () =>
            {
                if (Interlocked.Exchange(ref dropped, 1) == 0)
                {
                    await proxy.DisposeAsync();
                }
            },
            async () =>
            {
                await client.DisposeAsync();
                if (Interlocked.Exchange(ref dropped, 1) == 0)
                {
                    await proxy.DisposeAsync();
                }
            });
    }
}

/// <summary>The <see cref="IEdgeMqtt"/> contract against mosquitto.</summary>
public sealed class EdgeMqttContractMosquittoTests : EdgeMqttContractWireTestBase
{
    /// <inheritdoc/>
    protected override Task<ITestBroker> StartBrokerAsync() => Task.FromResult<ITestBroker>(MosquittoTestBroker.Start());
}

/// <summary>The <see cref="IEdgeMqtt"/> contract against the embedded MQTTnet broker.</summary>
public sealed class EdgeMqttContractEmbeddedTests : EdgeMqttContractWireTestBase
{
    /// <inheritdoc/>
    protected override async Task<ITestBroker> StartBrokerAsync() => await EmbeddedTestBroker.StartAsync();
}

/// <summary>The <see cref="IEdgeMqtt"/> contract against the in-memory double.</summary>
public sealed class EdgeMqttContractInMemoryTests : EdgeMqttContractTestBase
{
    /// <inheritdoc/>
    protected override Task<ITestBroker> StartBrokerAsync() => Task.FromResult<ITestBroker>(new InMemoryTestBroker());

    /// <inheritdoc/>
    protected override Task<IEdgeMqtt> ConnectAsync(ITestBroker broker, string clientId, EdgeWillMessage? will = null) =>
        Task.FromResult<IEdgeMqtt>(((InMemoryTestBroker)broker).Broker.Connect(clientId, will));

    /// <inheritdoc/>
    protected override Task<DroppableClient> ConnectDroppableAsync(ITestBroker broker, string clientId, EdgeWillMessage will)
    {
        InMemoryEdgeMqtt client = ((InMemoryTestBroker)broker).Broker.Connect(clientId, will);
        return Task.FromResult(new DroppableClient(
            client,
            () =>
            {
                client.Drop();
                return Task.CompletedTask;
            },
            client.DisposeAsync));
    }
}
