using Fsm2.Edge.Health;
using Fsm2.Edge.Mqtt.Connection;

namespace Fsm2.Edge.Mqtt.Tests.Connection;

public sealed class BrokerEndpointTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("embedded")]
    [InlineData("  Embedded ")]
    public void Parse_EmbeddedOrEmpty_Embedded(string? value)
    {
        // act
        BrokerEndpoint endpoint = BrokerEndpoint.Parse(value);

        // assert
        Assert.Same(BrokerEndpoint.Embedded, endpoint);
        Assert.Equal(BrokerKind.Embedded, endpoint.Kind);
        Assert.Equal("embedded", endpoint.ToString());
    }

    [Theory]
    [InlineData("mqtt://10.0.0.5:1883", "10.0.0.5", 1883, false, "mqtt://10.0.0.5:1883")]
    [InlineData("MQTT://broker.plant.local:18830", "broker.plant.local", 18830, false, "mqtt://broker.plant.local:18830")]
    [InlineData("mqtt://broker", "broker", 1883, false, "mqtt://broker:1883")]
    [InlineData("mqtts://broker", "broker", 8883, true, "mqtts://broker:8883")]
    [InlineData("mqtts://broker:9883/", "broker", 9883, true, "mqtts://broker:9883")]
    [InlineData("mqtt://[::1]:1883", "::1", 1883, false, "mqtt://[::1]:1883")]
    public void Parse_ExternalUri_HostPortTls(string value, string host, int port, bool tls, string canonical)
    {
        // act
        BrokerEndpoint endpoint = BrokerEndpoint.Parse(value);

        // assert
        Assert.Equal(BrokerKind.External, endpoint.Kind);
        Assert.Equal(host, endpoint.Host);
        Assert.Equal(port, endpoint.Port);
        Assert.Equal(tls, endpoint.UseTls);
        Assert.Equal(canonical, endpoint.ToString());
        Assert.Equal(endpoint, BrokerEndpoint.Parse(canonical));
    }

    [Theory]
    [InlineData("http://broker:1883", "is not a broker")]
    [InlineData("broker:1883", "is not a broker")]
    [InlineData("tcp://broker", "is not a broker")]
    [InlineData("mqtt://", "has no valid host")]
    [InlineData("mqtt://broker:99999", "has no valid host")]
    [InlineData("mqtt://broker:0", "port must be 1-65535")]
    [InlineData("mqtt://broker:1883/plant", "must not have a path")]
    [InlineData("mqtt://broker:1883?x=1", "must not have a path")]
    public void Parse_Invalid_ThrowsConfigErrorNamingFieldAndValue(string value, string reason)
    {
        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => BrokerEndpoint.Parse(value, "workers[a].broker"));

        // assert
        Assert.Equal("workers[a].broker", error.Field);
        Assert.StartsWith("workers[a].broker: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.IsType<ConfigException>(error, exactMatch: false);
        Assert.Equal(PanicClass.Config, ExceptionClassifier.Classify(error));
    }

    [Fact]
    public void Parse_CredentialsInUri_RejectedWithoutEchoingThePassword()
    {
        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => BrokerEndpoint.Parse("mqtt://ops:s3cret@broker:1883"));

        // assert
        Assert.Equal(BrokerEndpoint.DefaultField, error.Field);
        Assert.Contains("mqtt.password_env", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }
}
