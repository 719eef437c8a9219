using Fsm2.Edge.Mqtt.Client;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>The in-memory broker (the <see cref="IEdgeMqtt"/> test double) behind <see cref="ITestBroker"/>, so the
/// contract tests run against it exactly as against mosquitto and the embedded broker.</summary>
public sealed class InMemoryTestBroker(TimeProvider? time = null) : ITestBroker
{
    /// <summary>The broker.</summary>
    public InMemoryMqttBroker Broker { get; } = new(time);

    /// <inheritdoc/>
    public string Name => "in-memory";

    /// <inheritdoc/>
    public int Port => 0;

    /// <inheritdoc/>
    public Task StopAsync()
    {
        Broker.Stop();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task RestartAsync()
    {
        Broker.Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
