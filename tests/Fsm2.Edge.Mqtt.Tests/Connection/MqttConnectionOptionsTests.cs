using Fsm2.Edge.Mqtt.Connection;

namespace Fsm2.Edge.Mqtt.Tests.Connection;

public sealed class MqttConnectionOptionsTests
{
    private static readonly BrokerEndpoint s_plain = BrokerEndpoint.External("broker", 1883);
    private static readonly BrokerEndpoint s_tls = BrokerEndpoint.External("broker", 8883, useTls: true);

    [Fact]
    public void Validate_Defaults_Pass()
    {
        // arrange
        MqttConnectionOptions options = MqttConnectionOptions.For(s_plain);

        // act
        options.Validate();

        // assert
        Assert.Equal(TimeSpan.FromSeconds(15), options.KeepAlive);
        Assert.Equal(MqttProtocol.V5, options.Protocol);
    }

    public static TheoryData<string, string> InvalidCases() => new()
    {
        { "embedded", "runtime.broker" },
        { "keepalive0", "runtime.mqtt.keepalive" },
        { "keepaliveHuge", "runtime.mqtt.keepalive" },
        { "caOnPlain", "runtime.mqtt.tls.ca_file" },
        { "insecureOnPlain", "runtime.mqtt.tls.insecure_skip_verify" },
        { "passwordWithoutUser", "runtime.mqtt.password_env" },
        { "caMissing", "runtime.mqtt.tls.ca_file" },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Validate_Invalid_ErrorNamesTheField(string @case, string field)
    {
        // arrange
        MqttConnectionOptions options = @case switch
        {
            "embedded" => MqttConnectionOptions.For(BrokerEndpoint.Embedded),
            "keepalive0" => new MqttConnectionOptions { Endpoint = s_plain, KeepAlive = TimeSpan.Zero },
            "keepaliveHuge" => new MqttConnectionOptions { Endpoint = s_plain, KeepAlive = TimeSpan.FromDays(1) },
            "caOnPlain" => new MqttConnectionOptions { Endpoint = s_plain, TlsCaFile = "/etc/ssl/ca.pem" },
            "insecureOnPlain" => new MqttConnectionOptions { Endpoint = s_plain, TlsInsecureSkipVerify = true },
            "passwordWithoutUser" => new MqttConnectionOptions { Endpoint = s_plain, Password = "x" },
            "caMissing" => new MqttConnectionOptions { Endpoint = s_tls, TlsCaFile = "/nonexistent/fsm2/ca.pem" },
            _ => throw new ArgumentOutOfRangeException(nameof(@case)),
        };

        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => options.Validate());

        // assert
        Assert.Equal(field, error.Field);
        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, MqttProtocol.V5)]
    [InlineData("5", MqttProtocol.V5)]
    [InlineData("5.0", MqttProtocol.V5)]
    [InlineData("3.1.1", MqttProtocol.V311)]
    public void ParseProtocol_Accepted(string? value, MqttProtocol expected)
    {
        // act
        MqttProtocol protocol = MqttConnectionOptions.ParseProtocol(value);

        // assert
        Assert.Equal(expected, protocol);
    }

    [Fact]
    public void ParseProtocol_Other_ErrorNamesFieldAndValue()
    {
        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => MqttConnectionOptions.ParseProtocol("3"));

        // assert
        Assert.Equal("runtime.mqtt.protocol", error.Field);
        Assert.Contains("'3'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadPassword_FromNamedVariable_MissingVariableNamedNotValued()
    {
        // arrange
        var environment = new Dictionary<string, string?> { ["FSM2_MQTT_PASSWORD"] = "s3cret" };

        // act
        string? password = MqttConnectionOptions.ReadPassword("FSM2_MQTT_PASSWORD", getEnvironmentVariable: name => environment.GetValueOrDefault(name));
        string? none = MqttConnectionOptions.ReadPassword(null);
        BrokerConfigException missing = Assert.Throws<BrokerConfigException>(
            () => MqttConnectionOptions.ReadPassword("FSM2_UNSET", getEnvironmentVariable: name => environment.GetValueOrDefault(name)));

        // assert
        Assert.Equal("s3cret", password);
        Assert.Null(none);
        Assert.Equal("runtime.mqtt.password_env", missing.Field);
        Assert.Contains("'FSM2_UNSET' is not set", missing.Message, StringComparison.Ordinal);
    }
}
