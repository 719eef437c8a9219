using Fsm2.Edge.Mqtt.Connection;
using Fsm2.Edge.Mqtt.Probes;

namespace Fsm2.Edge.Mqtt.Tests.Probes;

public sealed class MqttRoundTripProbeOptionsTests
{
    [Fact]
    public void Validate_Defaults_Pass_WithSpecDefaults()
    {
        // arrange
        MqttRoundTripProbeOptions options = Valid();

        // act
        options.Validate();

        // assert: 30-supervision §12.
        Assert.Equal(TimeSpan.FromSeconds(2), options.Interval);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Timeout);
        Assert.Equal(3, options.MissThreshold);
    }

    [Theory]
    [InlineData("id", "broker assembly", "probes[broker assembly].id")]
    [InlineData("id", "", "probes[].id")]
    [InlineData("timeout", "1000", "probes[broker-assembly].timeout")]
    [InlineData("timeout", "0", "probes[broker-assembly].timeout")]
    [InlineData("miss_threshold", "0", "probes[broker-assembly].miss_threshold")]
    [InlineData("prefix", "fsm2/#", "runtime.topic_prefix")]
    [InlineData("prefix", "$SYS/x", "runtime.topic_prefix")]
    [InlineData("prefix", "/fsm2", "runtime.topic_prefix")]
    [InlineData("prefix", "fsm2//gw", "runtime.topic_prefix")]
    [InlineData("prefix", "fsm2/gw/", "runtime.topic_prefix")]
    public void Validate_Invalid_ErrorNamesTheField(string what, string value, string field)
    {
        // arrange
        MqttRoundTripProbeOptions valid = Valid();
        MqttRoundTripProbeOptions options = what switch
        {
            "id" => new MqttRoundTripProbeOptions { Id = value, RuntimeId = valid.RuntimeId, InstanceId = valid.InstanceId, TopicPrefix = valid.TopicPrefix },
            "timeout" => new MqttRoundTripProbeOptions
            {
                Id = valid.Id,
                RuntimeId = valid.RuntimeId,
                InstanceId = valid.InstanceId,
                TopicPrefix = valid.TopicPrefix,
                Interval = TimeSpan.FromSeconds(1),
                Timeout = TimeSpan.FromMilliseconds(int.Parse(value, System.Globalization.CultureInfo.InvariantCulture)),
            },
            "miss_threshold" => new MqttRoundTripProbeOptions
            {
                Id = valid.Id, RuntimeId = valid.RuntimeId, InstanceId = valid.InstanceId, TopicPrefix = valid.TopicPrefix, MissThreshold = 0,
            },
            "prefix" => new MqttRoundTripProbeOptions { Id = valid.Id, RuntimeId = valid.RuntimeId, InstanceId = valid.InstanceId, TopicPrefix = value },
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        // act
        BrokerConfigException error = Assert.Throws<BrokerConfigException>(() => options.Validate());

        // assert
        Assert.Equal(field, error.Field);
    }

    [Theory]
    [InlineData("broker-assembly", true)]
    [InlineData("a.b_c-1", true)]
    [InlineData("x", true)]
    [InlineData("p/1", false)]
    [InlineData("p+", false)]
    [InlineData("ä", false)]
    public void IsValidId_FollowsTheIdPattern(string id, bool valid)
    {
        // act
        bool result = MqttRoundTripProbeOptions.IsValidId(id);

        // assert
        Assert.Equal(valid, result);
        Assert.False(MqttRoundTripProbeOptions.IsValidId(new string('a', 65)));
    }

    private static MqttRoundTripProbeOptions Valid() => new()
    {
        Id = "broker-assembly",
        RuntimeId = "gw-press-hall",
        InstanceId = Guid.Parse("6f0c2b9e-4d7a-4e1f-9a0b-3c5d7e9f1a2b"),
        TopicPrefix = "fsm2/gw-press-hall",
    };
}
