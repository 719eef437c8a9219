using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>One message a <see cref="RecordingHandler"/> received, payload copied.</summary>
public sealed record ReceivedMessage(string Topic, byte[] Payload, EdgeQos Qos, bool Retained)
{
    /// <summary>The payload as UTF-8 text.</summary>
    public string Text => Encoding.UTF8.GetString(Payload);
}

/// <summary>A route handler that copies every message it receives (handlers must not keep the payload).</summary>
public sealed class RecordingHandler : IEdgeMessageHandler
{
    private readonly ConcurrentQueue<ReceivedMessage> _messages = new();

    /// <summary>Everything received so far, in order.</summary>
    public IReadOnlyList<ReceivedMessage> Messages => [.. _messages];

    /// <inheritdoc/>
    public void OnMessage(in EdgeMqttMessage message) =>
        _messages.Enqueue(new ReceivedMessage(message.Topic, message.Payload.ToArray(), message.Qos, message.Retained));

    /// <summary>Waits (bounded) until a message on <paramref name="topic"/> satisfying <paramref name="match"/> arrived.</summary>
    public ReceivedMessage WaitFor(string topic, Func<ReceivedMessage, bool>? match = null, string? what = null)
    {
        ReceivedMessage? found = null;
        Wait.Until(
            () =>
            {
                found = _messages.FirstOrDefault(m => m.Topic == topic && (match?.Invoke(m) ?? true));
                return found is not null;
            },
            what ?? $"a message on {topic}");
        return found!;
    }

    /// <summary>Messages received on <paramref name="topic"/>.</summary>
    public IReadOnlyList<ReceivedMessage> On(string topic) => [.. _messages.Where(m => m.Topic == topic)];
}
