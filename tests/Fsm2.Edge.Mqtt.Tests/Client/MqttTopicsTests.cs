using Fsm2.Edge.Mqtt.Client;

namespace Fsm2.Edge.Mqtt.Tests.Client;

public sealed class MqttTopicsTests
{
    [Theory]
    [InlineData("a/b/c", "a/b/c", true)]
    [InlineData("a/+/c", "a/b/c", true)]
    [InlineData("a/+/c", "a//c", true)]
    [InlineData("a/+/c", "a/b/d", false)]
    [InlineData("a/+", "a/b/c", false)]
    [InlineData("a/#", "a", true)]
    [InlineData("a/#", "a/b/c", true)]
    [InlineData("a/#", "ab", false)]
    [InlineData("#", "a/b", true)]
    [InlineData("#", "$SYS/x", false)]
    [InlineData("+/x", "$SYS/x", false)]
    [InlineData("$SYS/#", "$SYS/x", true)]
    [InlineData("a/b", "a/b/c", false)]
    [InlineData("a/b/c", "a/b", false)]
    [InlineData("+/+", "a/b", true)]
    [InlineData("fsm2/gw/status/#", "fsm2/gw/status/assembly/pc-1/source", true)]
    public void Matches_FollowsMqttWildcardRules(string filter, string topic, bool expected)
    {
        // act
        bool matches = MqttTopics.Matches(filter, topic);

        // assert
        Assert.Equal(expected, matches);
    }

    [Theory]
    [InlineData("a/#", true)]
    [InlineData("a/+/b", true)]
    [InlineData("#", true)]
    [InlineData("a/#/b", false)]
    [InlineData("a/b#", false)]
    [InlineData("a+/b", false)]
    [InlineData("", false)]
    public void IsValidFilter_WildcardsOccupyWholeLevels_HashOnlyLast(string filter, bool expected)
    {
        // assert
        Assert.Equal(expected, MqttTopics.IsValidFilter(filter));
    }

    [Theory]
    [InlineData("a/b", true)]
    [InlineData("a/+", false)]
    [InlineData("a/#", false)]
    [InlineData("", false)]
    public void IsValidTopic_RejectsWildcardsAndEmpty(string topic, bool expected)
    {
        // assert
        Assert.Equal(expected, MqttTopics.IsValidTopic(topic));
    }
}
