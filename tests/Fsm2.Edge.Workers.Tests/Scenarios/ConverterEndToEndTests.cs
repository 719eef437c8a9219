using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Workers.Tests.Scenarios;

/// <summary>
/// Mode B (60-scenarios §1.1): the full runtime started normally on the real clock, the worker pack on an MQTTnet data
/// client, the embedded broker on a free loopback port, and an observer client owned by the test. A device-simulator
/// feeds a protocol-converter whose connection probes the simulator's TCP listener.
/// </summary>
public sealed class ConverterEndToEndTests
{
    private const string UnsRoot = "umh/v1/acme.plant-1.assembly.line-a.press-1/";

    private static readonly Dictionary<string, string> s_running = new(StringComparer.Ordinal) { ["running"] = "active" };

    [Fact]
    [Trait("spec", "E-03")]
    public async Task E03_SimulatorToSourceFlowToUnsTopicEndToEnd()
    {
        // arrange
        await using Plant plant = await Plant.StartAsync(sinkEnabled: false);

        // act
        await plant.WaitActiveAsync("sim", "pc", "pc/connection", "pc/source");
        plant.Observer.WaitFor(r => r.Count(UnsRoot + "_historian/temperature") >= 3, "three UNS temperature messages");

        // assert: every device message of a tag appears on the UNS topic with a byte-identical payload, in order.
        foreach (string tag in new[] { "temperature", "pressure" })
        {
            List<string> uns = plant.Observer.Payloads(UnsRoot + "_historian/" + tag);
            List<string> device = plant.Observer.Payloads("devices/press-1/" + tag);
            Assert.NotEmpty(uns);
            Assert.Equal(device.Take(uns.Count), uns);
        }

        Assert.Null(plant.Runtime.FindNode("pc/sink"));
    }

    [Fact]
    [Trait("spec", "E-04")]
    public async Task E04_SinkWriteBackRoundTrip()
    {
        // arrange
        await using Plant plant = await Plant.StartAsync(sinkEnabled: true);
        await plant.WaitActiveAsync("sim", "pc", "pc/connection", "pc/source", "pc/sink");
        byte[] write = Encoding.UTF8.GetBytes("{\"value\":75}");

        // act
        await plant.Observer.Client.PublishAsync(UnsRoot + "_write/setpoint", write, EdgeQos.AtLeastOnce, false, default);

        // assert
        plant.Observer.WaitFor(r => r.Count("devices/press-1/setpoint/set") == 1, "the write on the device topic", TimeSpan.FromSeconds(2));
        Assert.Equal("{\"value\":75}", plant.Observer.Payloads("devices/press-1/setpoint/set")[0]);
        plant.Observer.WaitFor(r => r.Payloads("devices/press-1/setpoint").Any(p => Value(p) == 75), "the simulator to publish 75");
        plant.Observer.WaitFor(r => r.Payloads(UnsRoot + "_historian/setpoint").Any(p => Value(p) == 75), "75 on the UNS topic");
        Assert.Equal(1, plant.Observer.Count("devices/press-1/setpoint/set")); // the sink forwarded exactly one message.
    }

    private static double Value(string payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return doc.RootElement.GetProperty("value").GetDouble();
    }

    private sealed class Plant : IAsyncDisposable
    {
        private Plant(EmbeddedBroker broker, EdgeMqttClient data, Observer observer, SupervisorRuntime runtime)
        {
            Broker = broker;
            Data = data;
            Observer = observer;
            Runtime = runtime;
        }

        public EmbeddedBroker Broker { get; }

        public EdgeMqttClient Data { get; }

        public Observer Observer { get; }

        public SupervisorRuntime Runtime { get; }

        public static async Task<Plant> StartAsync(bool sinkEnabled)
        {
            var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
            await broker.StartAsync();
            BrokerEndpoint endpoint = BrokerEndpoint.External("127.0.0.1", broker.Port);
            EdgeMqttClient data = await ConnectAsync(endpoint, "gw-data");
            var observer = new Observer(await ConnectAsync(endpoint, "observer"));
            await observer.Client.Route("#", EdgeQos.AtLeastOnce, observer).Subscribed.WaitAsync(Wait.DefaultTimeout);

            var factory = new WorkerFactory();
            WorkerPack.Register(factory, new WorkerPackOptions { Mqtt = data });
            var runtime = new SupervisorRuntime(factory, new RuntimeOptions
            {
                TickInterval = TimeSpan.FromMilliseconds(10),
                ObservationInterval = TimeSpan.FromMilliseconds(50),
            });
            var plant = new Plant(broker, data, observer, runtime);
            int devicePort = ConfigRuntime.FreePort();
            string sim = $"device: \"press-1\"\ninterval: 100ms\ntcp_listen: \"127.0.0.1:{devicePort}\"\ntags:\n"
                + "  - { name: temperature, kind: sine, min: 60, max: 80, period: 60s }\n"
                + "  - { name: pressure, kind: random, min: 1.8, max: 2.4 }\n"
                + "  - { name: setpoint, kind: constant, value: 70, writable: true }\n";
            string pc = $"host: \"127.0.0.1\"\nport: {devicePort}\ndevice_topic: \"devices/press-1/#\"\nqos: 1\nsink: {{ enabled: {(sinkEnabled ? "true" : "false")} }}\n";
            runtime.SetConfiguration(
            [
                new ChildSpec("sim", WorkerPack.DeviceSimulatorType, new UserSpec(sim), s_running),
                new ChildSpec("pc", WorkerPack.ProtocolConverterType, new UserSpec(pc), s_running,
                    new IsaLocation("acme", "plant-1", "assembly", "line-a", "press-1")),
            ]);
            runtime.Start();
            return plant;
        }

        public async Task WaitActiveAsync(params string[] paths)
        {
            try
            {
                Wait.Until(() => paths.All(p => Runtime.FindNode(p)?.CurrentStateName == "active"), "nodes active");
            }
            catch (TimeoutException)
            {
                throw new TimeoutException("nodes not active: " + string.Join("; ", paths.Select(p => Runtime.FindNode(p) is { } n
                    ? $"{p}={n.CurrentStateName} desired={n.EffectiveDesiredState} reason={n.Reason} error={n.LastError?.Message}"
                    : $"{p}=missing")));
            }

            await Task.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await Runtime.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }
            finally
            {
                await Runtime.DisposeAsync();
                await Observer.Client.DisposeAsync();
                await Data.DisposeAsync();
                await Broker.DisposeAsync();
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
            await client.WhenConnectedAsync().WaitAsync(Wait.DefaultTimeout);
            return client;
        }
    }

    private sealed class Observer(EdgeMqttClient client) : IEdgeMessageHandler
    {
        private readonly List<(string Topic, string Payload)> _messages = [];

        public EdgeMqttClient Client { get; } = client;

        public int Count(string topic)
        {
            lock (_messages)
            {
                return _messages.Count(m => m.Topic == topic);
            }
        }

        public List<string> Payloads(string topic)
        {
            lock (_messages)
            {
                return _messages.Where(m => m.Topic == topic).Select(m => m.Payload).ToList();
            }
        }

        public void WaitFor(Func<Observer, bool> condition, string what, TimeSpan? timeout = null)
            => Wait.Until(() => condition(this), what, timeout);

        public void OnMessage(in EdgeMqttMessage message)
        {
            string payload = Encoding.UTF8.GetString(message.Payload);
            lock (_messages)
            {
                _messages.Add((message.Topic, payload));
            }
        }
    }
}
