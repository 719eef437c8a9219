using System.Text;
using System.Text.Json;
using Fsm2.Edge.Mqtt.Client;
using Fsm2.Edge.Mqtt.Monitoring;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Tests.Monitoring;

/// <summary>Runtime id conflicts (shared/spec/50-runtime-monitoring.md §12) on the in-memory double and a fake clock:
/// crafted messages on the runtime's own <c>runtime/state</c> and a session taken over.</summary>
public sealed class RuntimeIdConflictTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("spec", "50-12")]
    public async Task RuntimeIdConflict_HeartbeatOfAnotherInstanceDatedAfterStart_LogsErrorOnceWithTheOtherInstance_AndKeepsPublishing()
    {
        // arrange: the publisher runs and is online (its start: 10:00:00 on the fake clock).
        await using var f = new MonitoringFixture();
        f.Publisher.Start();
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromSeconds(1));
        long beatsBefore = f.Publisher.HeartbeatSequence;

        // act: another process with the same id publishes its heartbeats there, twice.
        await Publish(f, Heartbeat("online", "a1b2c3d4e5f60718293a4b5c6d7e8f90", "2026-11-28T10:00:05.000Z"));
        await Publish(f, Heartbeat("online", "a1b2c3d4e5f60718293a4b5c6d7e8f90", "2026-11-28T10:00:15.000Z"));
        f.Advance(TimeSpan.FromSeconds(12));

        // assert: one Error naming both ids; this runtime goes on heartbeating on the same connection.
        Microsoft.Extensions.Logging.Testing.FakeLogRecord conflict = Assert.Single(f.Logs.GetSnapshot(), r => r.Id.Name == "runtime_id_conflict");
        Assert.Equal(LogLevel.Error, conflict.Level);
        Assert.Contains("runtime=gw-test", conflict.Message, StringComparison.Ordinal);
        Assert.Contains("other_instance=a1b2c3d4e5f60718293a4b5c6d7e8f90", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(1, f.Publisher.RuntimeIdConflicts);
        Assert.True(f.Publisher.HeartbeatSequence > beatsBefore, "the runtime keeps publishing its heartbeat");
        Assert.True(f.Mon.IsConnected);
        Assert.Equal(1, f.Mon.State.Connects);
    }

    [Fact]
    [Trait("spec", "50-12")]
    public async Task RuntimeIdConflict_PreviousRunsRetainedHeartbeatAndWill_OwnHeartbeats_AreNoConflict()
    {
        // arrange: the previous process left its last heartbeat (dated before this start) and then its will.
        await using var f = new MonitoringFixture();
        await Publish(f, Heartbeat("online", "0123456789abcdef0123456789abcdef", "2026-11-28T09:59:50.000Z"));

        // act: this process starts and runs a while; the previous one's will (undated) arrives late.
        f.Publisher.Start();
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromSeconds(25));
        await Publish(f, "{\"state\":\"offline\",\"runtime\":\"gw-test\",\"instance\":\"0123456789abcdef0123456789abcdef\",\"reason\":\"connection_lost\"}");
        f.Advance(TimeSpan.FromSeconds(1));

        // assert
        Assert.True(f.Publisher.HeartbeatSequence >= 3, "own heartbeats went round through the route");
        Assert.DoesNotContain(f.Logs.GetSnapshot(), r => r.Id.Name == "runtime_id_conflict");
        Assert.Equal(0, f.Publisher.RuntimeIdConflicts);
    }

    [Fact]
    [Trait("spec", "50-12")]
    public async Task RuntimeIdConflict_SessionTakenOver_LogsErrorWithUnknownInstance_ThrottledToOncePerMinute_KeepsRunning()
    {
        // arrange
        await using var f = new MonitoringFixture();
        f.Publisher.Start();
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromSeconds(1));

        // act: the broker hands the session to another client three times within a minute, then once more later.
        for (int i = 0; i < 3; i++)
        {
            f.Mon.Drop("SessionTakenOver");
            f.Mon.Reconnect();
            f.Advance(TimeSpan.FromSeconds(5));
        }

        int withinAMinute = f.Events("runtime_id_conflict").Count;
        f.Advance(TimeSpan.FromSeconds(60));
        f.Mon.Drop("SessionTakenOver");
        f.Mon.Reconnect();
        f.Advance(TimeSpan.FromSeconds(1));
        f.Mon.Drop("connection_lost");
        f.Mon.Reconnect();
        f.Advance(TimeSpan.FromSeconds(1));

        // assert
        Assert.Equal(1, withinAMinute);
        IReadOnlyList<string> conflicts = f.Events("runtime_id_conflict");
        Assert.Equal(2, conflicts.Count);
        Assert.All(conflicts, m => Assert.Contains("other_instance=unknown evidence=session_taken_over", m, StringComparison.Ordinal));
        JsonElement state = JsonDocument.Parse(f.Broker.Retained($"{f.Prefix}/runtime/state")!).RootElement;
        Assert.Equal("online", state.GetProperty("state").GetString());
    }

    [Fact]
    [Trait("spec", "50-12")]
    public async Task RuntimeIdConflict_WillOfAnotherInstanceRepeatedAfterOwnHeartbeat_LogsError_ASingleWillDoesNot()
    {
        // arrange: online, own heartbeat on the topic.
        await using var f = new MonitoringFixture();
        f.Publisher.Start();
        f.Publisher.MarkOnline();
        f.Advance(TimeSpan.FromSeconds(1));
        const string Will = "{\"state\":\"offline\",\"runtime\":\"gw-test\",\"instance\":\"feedfacefeedfacefeedfacefeedface\",\"reason\":\"connection_lost\"}";

        // act 1: the other process's will arrives (a broker handing the session over publishes it), twice without an own
        // heartbeat in between (the same message again).
        await Publish(f, Will);
        await Publish(f, Will);
        int afterOne = f.Events("runtime_id_conflict").Count;

        // act 2: own heartbeat, then the other's will once more: a second process keeps coming back.
        f.Advance(TimeSpan.FromSeconds(10));
        await Publish(f, Will);

        // assert
        Assert.Equal(0, afterOne);
        string conflict = Assert.Single(f.Events("runtime_id_conflict"));
        Assert.Contains("other_instance=feedfacefeedfacefeedfacefeedface evidence=repeated_will", conflict, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SessionTakenOver", true)]
    [InlineData("session taken over", true)]
    [InlineData("SESSION_TAKEN_OVER", true)]
    [InlineData("connection_lost", false)]
    [InlineData("NormalDisconnection", false)]
    [InlineData(null, false)]
    public void SessionTakenOver_IsRecognisedInEverySpelling(string? reason, bool expected) =>
        Assert.Equal(expected, MonitoringPublisher.IsSessionTakenOver(reason));

    private static string Heartbeat(string state, string instance, string ts) =>
        $"{{\"state\":\"{state}\",\"runtime\":\"gw-test\",\"instance\":\"{instance}\",\"startedAt\":\"{ts}\",\"ts\":\"{ts}\",\"seq\":1,\"tree\":{{\"nodes\":0}}}}";

    private static async Task Publish(MonitoringFixture f, string payload) =>
        await f.Observer.PublishAsync($"{f.Prefix}/runtime/state", Encoding.UTF8.GetBytes(payload), EdgeQos.AtLeastOnce, retain: true, Ct);
}
