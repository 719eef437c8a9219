using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Workers.Pack;
using Fsm2.Edge.Workers.ProtocolConverter;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Workers.Tests.ProtocolConverter;

public sealed class ProtocolConverterWorkerTests
{
    private const string Config = "host: \"127.0.0.1\"\nport: 15021\ndevice_topic: \"devices/press-1/#\"\n";

    private static ProtocolConverterWorker NewWorker(Func<string, IReadOnlyDictionary<string, string>?>? templates = null)
        => new(new Identity("assembly/pc", "pc", WorkerPack.ProtocolConverterType, "assembly"),
            new WorkerPackOptions { Mqtt = new InMemoryMqttBroker().Connect("data"), Time = new FakeTimeProvider(), Templates = templates });

    [Fact]
    [Trait("spec", "M-23")]
    public void M23_ConverterWithoutSinkDeclaresExactlyConnectionAndSource()
    {
        // arrange
        ProtocolConverterWorker worker = NewWorker();

        // act
        DerivedState<ProtocolConverterConfig> derived = worker.DeriveDesiredState(new UserSpec(Config + "sink: { enabled: false }\n"));

        // assert
        Assert.Equal("active", derived.State);
        Assert.NotNull(derived.Children);
        Assert.Equal(["connection", "source"], derived.Children.Select(c => c.Name));
        Assert.Equal(["connection", "source-flow"], derived.Children.Select(c => c.WorkerType));
        foreach (ChildSpec child in derived.Children)
        {
            Assert.NotNull(child.StateMapping);
            Assert.Equal(2, child.StateMapping.Count);
            Assert.Equal("active", child.StateMapping["active"]);
            Assert.Equal("stopped", child.StateMapping["stopped"]);
        }
    }

    [Fact]
    public void Derive_SinkEnabled_AddsSinkWithRenderedDefaultWriteTopicAndTemplates()
    {
        // arrange
        ProtocolConverterWorker worker = NewWorker(path => path == "assembly/pc"
            ? new Dictionary<string, string> { ["uns_topic"] = "site/{{ tag }}" }
            : null);

        // act
        DerivedState<ProtocolConverterConfig> derived = worker.DeriveDesiredState(new UserSpec(Config + "qos: 0\nsink: { enabled: true }\n"));

        // assert
        Assert.Equal(["connection", "source", "sink"], derived.Children!.Select(c => c.Name));
        IReadOnlyDictionary<string, object?> user = derived.Children![2].UserSpec.Variables.User;
        Assert.Equal("umh/v1//_write/#", user["write_topic"]); // no location in a bare spec: location_path is "".
        Assert.Equal("devices/press-1", user["device_prefix"]);
        Assert.Equal("site/{{ tag }}", user["uns_topic_template"]);
        Assert.Equal("{{ device_prefix }}/{{ tag }}/set", user["device_write_topic_template"]);
        Assert.Equal(0L, user["qos"]);
        Assert.Equal("1s", user["connect_timeout"]);
    }

    [Fact]
    public void Derive_ConnectionTemplateRendersTheInheritedFields()
    {
        // arrange
        ProtocolConverterWorker worker = NewWorker();
        ChildSpec connection = worker.DeriveDesiredState(new UserSpec(Config)).Children![0];

        // act
        string rendered = connection.UserSpec.Render(connection.UserSpec.Config);

        // assert
        Assert.Equal("host: \"127.0.0.1\"\nport: 15021\ntimeout: 1s\n", rendered);
    }

    [Theory]
    [InlineData("host: \"h\"\nport: 0\ndevice_topic: \"d/#\"\n", "port")]
    [InlineData("host: \"h\"\nport: 1\n", "device_topic")]
    [InlineData("host: \"h\"\nport: 1\ndevice_topic: \"d/#/x\"\n", "device_topic")]
    [InlineData("hots: \"h\"\nport: 1\ndevice_topic: \"d/#\"\n", "hots")]
    [InlineData("host: \"h\"\nport: 1\ndevice_topic: \"d/#\"\npayload_format: xml\n", "payload_format")]
    public void Derive_InvalidConfig_ThrowsNamingTheField(string config, string field)
    {
        // arrange
        ProtocolConverterWorker worker = NewWorker();

        // act
        FormatException ex = Assert.Throws<FormatException>(() => worker.DeriveDesiredState(new UserSpec(config)));

        // assert
        Assert.Contains("protocol-converter", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
    }
}
