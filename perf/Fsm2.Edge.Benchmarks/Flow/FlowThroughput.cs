using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Benchmarks.Flow;

/// <summary>
/// <c>--flow [--messages N] [--window W] [--qos 0|1]</c>: messages/s bridged by one <c>source-flow</c> (issue 7's closing
/// figure). Starts the embedded MQTTnet broker on a free loopback port, a runtime with the worker pack on a <c>data</c>
/// client (as the host wires them) running one <c>source-flow</c> on <c>devices/press-1/#</c> at location
/// <c>acme.plant-1.assembly.line-a.press-1</c>, a device publisher client and a subscriber client on the UNS topics.
/// The publisher sends N UMH-JSON messages over three tags as fast as the flow accepts them: at most W messages are
/// published and not yet seen on the UNS (the flow's buffer holds 10,000, so W below that never makes it drop).
/// Reports messages/s from the first publish to the last UNS message, the loss (sent − distinct received after the
/// subscriber has been idle for 2 s), duplicates, and the flow's own counters.
/// </summary>
internal static class FlowThroughput
{
    private static readonly string[] s_tags = ["temperature", "pressure", "setpoint"];
    private static readonly Dictionary<string, string> s_running = new(StringComparer.Ordinal) { ["running"] = "active" };

    public static int Run(string[] args)
    {
        int messages = IntArg(args, "--messages", 200_000);
        int window = IntArg(args, "--window", 2_000);
        var qos = (EdgeQos)IntArg(args, "--qos", 1);
        return RunAsync(messages, window, qos).GetAwaiter().GetResult();
    }

    private static int IntArg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static async Task<int> RunAsync(int messages, int window, EdgeQos qos)
    {
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0, MaxPendingMessagesPerClient = 1_000_000 });
        await broker.StartAsync();
        BrokerEndpoint endpoint = BrokerEndpoint.External("127.0.0.1", broker.Port);
        await using EdgeMqttClient data = await ConnectAsync(endpoint, "flow-data");
        await using EdgeMqttClient device = await ConnectAsync(endpoint, "flow-device");
        await using EdgeMqttClient uns = await ConnectAsync(endpoint, "flow-uns");
        var counter = new UnsCounter(messages);
        using IMqttRoute route = uns.Route("umh/v1/#", qos, counter);
        await route.Subscribed.WaitAsync(TimeSpan.FromSeconds(10));

        var factory = new WorkerFactory();
        WorkerPack.Register(factory, new WorkerPackOptions { Mqtt = data });
        await using var runtime = new SupervisorRuntime(factory, new RuntimeOptions { TickInterval = TimeSpan.FromMilliseconds(100) });
        string config = $"device_topic: \"devices/press-1/#\"\nqos: {(int)qos}\n";
        runtime.SetConfiguration(
        [
            new ChildSpec("source", WorkerPack.SourceFlowType, new UserSpec(config), s_running,
                new IsaLocation("acme", "plant-1", "assembly", "line-a", "press-1")),
        ]);
        runtime.Start();
        var ready = Stopwatch.StartNew();
        while (runtime.FindNode("source")?.CurrentStateName != "active")
        {
            if (ready.Elapsed > TimeSpan.FromSeconds(30))
            {
                Console.Error.WriteLine("source-flow did not become active: " + runtime.FindNode("source")?.Reason);
                return 1;
            }

            await Task.Delay(10);
        }

        // Warm-up: 1,000 messages through the whole path (JIT, topic cache), not counted.
        await PublishAsync(device, counter, 0, 1_000, window, qos, warmUp: true);
        await WaitIdleAsync(counter);
        counter.Reset();

        var clock = Stopwatch.StartNew();
        await PublishAsync(device, counter, 0, messages, window, qos, warmUp: false);
        TimeSpan published = clock.Elapsed;
        TimeSpan lastReceived = await WaitIdleAsync(counter, clock);
        long received = counter.Distinct;
        double rate = received / lastReceived.TotalSeconds;

        Console.WriteLine("# source-flow throughput (embedded broker, one device publisher, one source-flow, one UNS subscriber)");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"messages={messages} qos={(int)qos} window={window} cores={Environment.ProcessorCount} runtime={System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"published_s={published.TotalSeconds:F2} last_uns_s={lastReceived.TotalSeconds:F2} forwarded={received} lost={messages - received} duplicates={counter.Duplicates} wrong_topic={counter.WrongTopic}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput_msgs_per_s={rate:F0}"));
        return received == messages ? 0 : 2;
    }

    private static async Task PublishAsync(EdgeMqttClient device, UnsCounter counter, int from, int count, int window, EdgeQos qos, bool warmUp)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        for (int i = from; i < from + count; i++)
        {
            // As fast as the flow accepts: at most 'window' messages published and not yet seen on the UNS.
            var spin = new SpinWait();
            while (i - counter.Received >= window)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteNumber("timestamp_ms", 1_764_324_930_123L + i);
                json.WriteNumber("value", warmUp ? -1 - i : i);
                json.WriteEndObject();
            }

            await device.PublishAsync("devices/press-1/" + s_tags[i % s_tags.Length], buffer.WrittenMemory, qos, retain: false, CancellationToken.None);
        }
    }

    // Waits until nothing arrived for 2 s; returns the time of the last arrival on 'clock'.
    private static async Task<TimeSpan> WaitIdleAsync(UnsCounter counter, Stopwatch? clock = null)
    {
        clock ??= Stopwatch.StartNew();
        long seen = -1;
        TimeSpan last = clock.Elapsed;
        while (true)
        {
            long now = counter.Received;
            if (now != seen)
            {
                seen = now;
                last = counter.LastAt(clock);
            }
            else if (clock.Elapsed - last > TimeSpan.FromSeconds(2))
            {
                return last;
            }

            await Task.Delay(50);
        }
    }

    private static async Task<EdgeMqttClient> ConnectAsync(BrokerEndpoint endpoint, string clientId)
    {
        var client = new EdgeMqttClient(new EdgeMqttClientOptions
        {
            ClientId = clientId,
            Name = clientId,
            Connection = MqttConnectionOptions.For(endpoint),
        });
        client.Start();
        await client.WhenConnectedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return client;
    }

    // The UNS subscriber: counts distinct sequence numbers (the payload's value) and checks the topic root.
    private sealed class UnsCounter(int capacity) : IEdgeMessageHandler
    {
        private const string Root = "umh/v1/acme.plant-1.assembly.line-a.press-1/_historian/";
        private readonly byte[] _seen = new byte[capacity];
        private long _received;
        private long _distinct;
        private long _duplicates;
        private long _wrongTopic;
        private long _lastTimestamp;

        public long Received => Interlocked.Read(ref _received);

        public long Distinct => Interlocked.Read(ref _distinct);

        public long Duplicates => Interlocked.Read(ref _duplicates);

        public long WrongTopic => Interlocked.Read(ref _wrongTopic);

        public TimeSpan LastAt(Stopwatch clock) =>
            clock.Elapsed - Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastTimestamp));

        public void Reset()
        {
            Array.Clear(_seen);
            Interlocked.Exchange(ref _received, 0);
            Interlocked.Exchange(ref _distinct, 0);
            Interlocked.Exchange(ref _duplicates, 0);
            Interlocked.Exchange(ref _wrongTopic, 0);
        }

        public void OnMessage(in EdgeMqttMessage message)
        {
            Interlocked.Exchange(ref _lastTimestamp, Stopwatch.GetTimestamp());
            if (!message.Topic.StartsWith(Root, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _wrongTopic);
            }

            var reader = new Utf8JsonReader(message.Payload);
            long value = -1;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("value"u8) && reader.Read())
                {
                    value = (long)reader.GetDouble();
                }
            }

            if (value >= 0 && value < _seen.Length)
            {
                if (Interlocked.Exchange(ref _seen[value], 1) == 0)
                {
                    Interlocked.Increment(ref _distinct);
                }
                else
                {
                    Interlocked.Increment(ref _duplicates);
                }
            }

            Interlocked.Increment(ref _received);
        }
    }
}
