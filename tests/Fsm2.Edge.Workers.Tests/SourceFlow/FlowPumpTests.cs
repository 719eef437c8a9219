using System.Text;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Templating;
using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers.Pack;
using Fsm2.Edge.Workers.SourceFlow;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Workers.Tests.SourceFlow;

public sealed class FlowPumpTests
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(s_start);
    private readonly InMemoryMqttBroker _broker;
    private readonly InMemoryEdgeMqtt _data;
    private readonly InMemoryEdgeMqtt _device;
    private readonly Recorder _uns = new();

    public FlowPumpTests()
    {
        _broker = new InMemoryMqttBroker(_time);
        _data = _broker.Connect("data");
        _device = _broker.Connect("device");
        _broker.Connect("observer").Route("umh/#", EdgeQos.AtLeastOnce, _uns);
    }

    private (FlowWorker Worker, FlowConfig Config) NewSource(string config, LiquidRenderer renderer)
    {
        var options = new WorkerPackOptions { Mqtt = _data, Time = _time, Renderer = renderer };
        var worker = new FlowWorker(FlowRole.Source, new Identity("pc/source", "source", WorkerPack.SourceFlowType, "pc"), options);
        var user = new Dictionary<string, object?> { ["uns_topic_template"] = "umh/v1/{{ location_path }}/_historian/{{ tag }}" };
        var spec = new UserSpec(config, new VariableBundle(user));
        FlowConfig flow = worker.DeriveDesiredState(spec).Config;
        // The runtime's scope carries the location; a bare spec has none, so build the scope the node would.
        flow = flow with { Scope = RenderScope.Create(user, null, null, new IsaLocation("acme", "plant-1", "assembly", "line-a", "press-1")) };
        return (worker, flow);
    }

    [Fact]
    [Trait("spec", "M-24")]
    public async Task M24_RawPayloadIsWrappedAsUmhJsonOnTheRenderedUnsTopic()
    {
        // arrange
        (FlowWorker worker, FlowConfig config) = NewSource("device_topic: \"devices/press-1/#\"\npayload_format: raw\n", new LiquidRenderer());
        worker.Pump.Subscribe(config);

        // act
        await _device.PublishAsync("devices/press-1/temperature", Encoding.UTF8.GetBytes("21.5"), EdgeQos.AtLeastOnce, false, default);
        await _device.PublishAsync("devices/press-1/state", Encoding.UTF8.GetBytes("running"), EdgeQos.AtLeastOnce, false, default);
        Wait.Until(() => _uns.Count == 2, "two UNS messages");

        // assert
        long ms = s_start.ToUnixTimeMilliseconds();
        Assert.Equal(("umh/v1/acme.plant-1.assembly.line-a.press-1/_historian/temperature", $"{{\"timestamp_ms\":{ms},\"value\":21.5}}"), _uns[0]);
        Assert.Equal(("umh/v1/acme.plant-1.assembly.line-a.press-1/_historian/state", $"{{\"timestamp_ms\":{ms},\"value\":\"running\"}}"), _uns[1]);
        await worker.Pump.UnsubscribeAsync(default);
    }

    [Fact]
    public async Task Forward_UmhJson_ForwardsBytesUnchangedAndTagsNestedLevelsWithDots()
    {
        // arrange
        (FlowWorker worker, FlowConfig config) = NewSource("device_topic: \"devices/press-1/#\"\n", new LiquidRenderer());
        worker.Pump.Subscribe(config);
        const string payload = "{\"timestamp_ms\":1,\"value\":3}";

        // act
        await _device.PublishAsync("devices/press-1/axis/x", Encoding.UTF8.GetBytes(payload), EdgeQos.AtLeastOnce, false, default);
        Wait.Until(() => _uns.Count == 1, "one UNS message");

        // assert
        Assert.Equal(("umh/v1/acme.plant-1.assembly.line-a.press-1/_historian/axis.x", payload), _uns[0]);
        await worker.Pump.UnsubscribeAsync(default);
    }

    [Fact]
    [Trait("spec", "M-25")]
    public async Task M25_ThousandMessagesOfOneTagRenderTheOutputTopicOnce()
    {
        // arrange
        var renderer = new LiquidRenderer();
        (FlowWorker worker, FlowConfig config) = NewSource("device_topic: \"devices/press-1/#\"\n", renderer);
        worker.Pump.Subscribe(config);
        long rendersBefore = renderer.RenderCount;
        byte[] payload = Encoding.UTF8.GetBytes("{\"value\":1}");

        // act
        for (int i = 0; i < 1_000; i++)
        {
            await _device.PublishAsync("devices/press-1/temperature", payload, EdgeQos.AtLeastOnce, false, default);
        }

        Wait.Until(() => worker.Pump.MessagesOut == 1_000, "1,000 forwarded messages");

        // assert
        Assert.Equal(1, renderer.RenderCount - rendersBefore);
        Assert.Equal(1_000, _uns.Count);
        Assert.Equal(0, worker.Pump.Dropped);
        await worker.Pump.UnsubscribeAsync(default);
    }

    [Fact]
    public async Task Forward_NewScope_ClearsTheTopicCacheSoTheNextMessageUsesTheNewValue()
    {
        // arrange
        (FlowWorker worker, FlowConfig config) = NewSource("device_topic: \"devices/press-1/#\"\n", new LiquidRenderer());
        worker.Pump.Subscribe(config);
        await _device.PublishAsync("devices/press-1/t", "1"u8.ToArray(), EdgeQos.AtLeastOnce, false, default);
        Wait.Until(() => _uns.Count == 1, "first message");

        // act
        worker.Pump.Update(config with { Scope = RenderScope.Create(null, null, null, new IsaLocation("acme", "plant-2")) });
        await _device.PublishAsync("devices/press-1/t", "2"u8.ToArray(), EdgeQos.AtLeastOnce, false, default);
        Wait.Until(() => _uns.Count == 2, "second message");

        // assert
        Assert.Equal("umh/v1/acme.plant-2/_historian/t", _uns[1].Topic);
        await worker.Pump.UnsubscribeAsync(default);
    }

    [Fact]
    public async Task Unsubscribe_WhileBrokerDown_SucceedsAndRemovesTheRoute()
    {
        // arrange
        (FlowWorker worker, FlowConfig config) = NewSource("device_topic: \"devices/press-1/#\"\n", new LiquidRenderer());
        worker.Pump.Subscribe(config);
        Assert.True(worker.Pump.IsSubscribed(config));
        _broker.Stop();

        // act
        await worker.Pump.UnsubscribeAsync(default);

        // assert
        Assert.False(worker.Pump.HasRoute);
        Assert.Equal(0, _data.RouteCount);
    }

    private sealed class Recorder : IEdgeMessageHandler
    {
        private readonly List<(string Topic, string Payload)> _messages = [];

        public int Count
        {
            get
            {
                lock (_messages)
                {
                    return _messages.Count;
                }
            }
        }

        public (string Topic, string Payload) this[int index]
        {
            get
            {
                lock (_messages)
                {
                    return _messages[index];
                }
            }
        }

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
