using System.Text.Json;
using Fsm2.Edge.Host.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.Scenarios;

/// <summary>
/// The worker-written <c>observed</c> object of each built-in type in its retained status (50-runtime-monitoring §6.3,
/// §7), end to end: the PLANT fixture in-process on the embedded broker, real MQTT traffic, statuses read by an
/// observer. The status refresh is compressed to 1 s (observed values ride along; they never trigger a publication).
/// </summary>
public sealed class ObservedStatusTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-observed-" + Guid.NewGuid().ToString("N"));

    public ObservedStatusTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    [Trait("spec", "50-6.3")]
    public async Task Observed_EveryPackTypesStatusCarriesTheFieldsOfSection7()
    {
        // arrange
        string file = Path.Combine(_dir, "plant.yaml");
        await File.WriteAllTextAsync(file, Plant.Text(0, Plant.FreePort(), Plant.FreePort(), profile: "x64-gateway",
            runtimeExtra: "  overrides: { status: { refresh_interval_ms: 1000 } }"), TestContext.Current.CancellationToken);

        // act
        await using InProcessHost host = InProcessHost.Start(file);
        await using Observer observer = await Observer.ConnectAsync(host.BrokerPort(), Plant.Prefix + "/status/#");

        // assert: each type's summary, once its values show the traffic of the running plant.
        JsonElement simulator = Observed(observer, "devices/sim-press-1",
            o => o.GetProperty("publishing").GetBoolean() && o.GetProperty("publishedTotal").GetInt64() > 0);
        AssertFields(simulator, "publishing", "brokerConnected", "publishedTotal", "publishErrors", "lastPublishAt", "writesApplied", "listening", "lastError");
        Assert.True(simulator.GetProperty("brokerConnected").GetBoolean());
        Assert.True(simulator.GetProperty("listening").GetBoolean());
        Assert.Equal(JsonValueKind.String, simulator.GetProperty("lastPublishAt").ValueKind);

        JsonElement source = Observed(observer, "assembly/pc-press-1/source", o => o.GetProperty("messagesOut").GetInt64() > 0);
        AssertFields(source, "subscribed", "brokerConnected", "messagesIn", "messagesOut", "dropped", "renderErrors", "lastMessageAt", "bufferDepth", "lastError");
        Assert.True(source.GetProperty("subscribed").GetBoolean());
        Assert.True(source.GetProperty("messagesIn").GetInt64() >= source.GetProperty("messagesOut").GetInt64());
        Assert.Equal(0, source.GetProperty("dropped").GetInt64());
        Assert.Equal(JsonValueKind.String, source.GetProperty("lastMessageAt").ValueKind);

        JsonElement sink = Observed(observer, "assembly/pc-press-1/sink", o => o.GetProperty("subscribed").GetBoolean());
        AssertFields(sink, "subscribed", "brokerConnected", "messagesIn", "messagesOut", "dropped", "renderErrors", "lastMessageAt", "bufferDepth", "lastError");

        JsonElement connection = Observed(observer, "assembly/pc-press-1/connection", o => o.GetProperty("reachable").ValueKind == JsonValueKind.True);
        AssertFields(connection, "probing", "reachable", "rttMs", "consecutiveFailures", "lastError", "lastSuccessAt");
        Assert.True(connection.GetProperty("probing").GetBoolean());
        Assert.Equal(JsonValueKind.Number, connection.GetProperty("rttMs").ValueKind);
        Assert.Equal(0, connection.GetProperty("consecutiveFailures").GetInt32());

        JsonElement converter = Observed(observer, "assembly/pc-press-1", o => o.GetProperty("childrenActive").GetInt32() == 3);
        AssertFields(converter, "childrenActive", "childrenTotal");
        Assert.Equal(3, converter.GetProperty("childrenTotal").GetInt32());

        // the stopped converter's connection does not probe: reachable unknown
        JsonElement idle = Observed(observer, "assembly/pc-press-2/connection", _ => true);
        Assert.False(idle.GetProperty("probing").GetBoolean());
        Assert.Equal(JsonValueKind.Null, idle.GetProperty("reachable").ValueKind);

        // a group has no §7.1 fields: observed stays null
        Received group = observer.WaitFor(m => m.Topic == Plant.Prefix + "/status/devices" && m.Payload.Length > 0, "the status of devices");
        Assert.Equal(JsonValueKind.Null, group.Json.GetProperty("observed").ValueKind);
        Assert.Equal(0, await host.StopAsync());
    }

    // The observed object of the first status of node that satisfies match.
    private static JsonElement Observed(Observer observer, string node, Func<JsonElement, bool> match)
    {
        string topic = Plant.Prefix + "/status/" + node;
        Received status = observer.WaitFor(
            m => m.Topic == topic && m.Payload.Length > 0 && m.Json.GetProperty("observed") is { ValueKind: JsonValueKind.Object } o && match(o),
            $"the observed summary of {node}",
            Patience);
        return status.Json.GetProperty("observed");
    }

    private static void AssertFields(JsonElement observed, params string[] expected) =>
        Assert.Equal(
            expected.Order(StringComparer.Ordinal),
            observed.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
}
