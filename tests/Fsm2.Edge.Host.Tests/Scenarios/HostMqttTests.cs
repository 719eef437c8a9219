using System.Diagnostics;
using System.Text.Json;
using Fsm2.Edge.Host.Tests.TestSupport;
using Fsm2.Edge.Mqtt.Broker;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.Scenarios;

/// <summary>
/// The host with MQTT (50-runtime-monitoring §2.4, §5, §6.2, §10): embedded broker on a free port, mon/data clients,
/// runtime state from starting to offline, and the last will when the process dies.
/// </summary>
public sealed class HostMqttTests : IDisposable
{
    private const string Prefix = "fsm2/gw-test";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fsm2-hostmqtt-" + Guid.NewGuid().ToString("N"));

    public HostMqttTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string broker, string extraRuntime = "")
    {
        string path = Path.Combine(_dir, "plant.yaml");
        File.WriteAllText(path, $$"""
            runtime:
              id: gw-test
              profile: x64-server
              location: { enterprise: acme, site: plant-1 }
              {{broker}}
            {{extraRuntime}}
            workers:
              - type: group
                name: lines
                children:
                  - { type: group, name: a }
            """);
        return path;
    }

    [Fact]
    [Trait("spec", "M-11")]
    public async Task M11_EmbeddedPortZero_LogsTheChosenPortAndBothClientsConnectToIt()
    {
        // arrange
        string file = Write("embedded_broker: { port: 0 }");

        // act
        await using InProcessHost host = InProcessHost.Start(file);
        int port = host.BrokerPort();
        host.WaitForLog("runtime_started");
        await using Observer observer = await Observer.ConnectAsync(port, Prefix + "/runtime/state");

        // assert
        Assert.NotEqual(0, port);
        Assert.NotEqual(1883, port);
        string endpoint = $"endpoint=mqtt://127.0.0.1:{port}";
        Assert.Contains("mqtt_connected client=mon " + endpoint, host.Log, StringComparison.Ordinal);
        Assert.Contains("mqtt_connected client=data " + endpoint, host.Log, StringComparison.Ordinal);
        Received state = observer.WaitFor(m => m.State is "starting" or "online", "the retained runtime state on the chosen port");
        Assert.Equal("gw-test", state.Json.GetProperty("runtime").GetString());
        Assert.Equal(0, await host.StopAsync());
    }

    [Fact]
    [Trait("spec", "M-27")]
    public async Task M27_Sigterm_RuntimeStateEndsOfflineShutdownWithoutWillAndExit0()
    {
        // arrange
        string file = Write("embedded_broker: { port: 0 }");
        await using InProcessHost host = InProcessHost.Start(file);
        int port = host.BrokerPort();
        host.WaitForLog("runtime_started");
        await using Observer observer = await Observer.ConnectAsync(port, Prefix + "/runtime/state");
        observer.WaitFor(m => m.State == "online", "online");

        // act
        int code = await host.StopAsync();

        // assert
        Assert.Equal(0, code);
        string[] states = [.. observer.On(Prefix + "/runtime/state").Select(m => m.State ?? "")];
        Assert.Equal("offline", states[^1]);
        Assert.Contains("stopping", states);
        JsonElement last = observer.On(Prefix + "/runtime/state")[^1].Json;
        Assert.Equal("shutdown", last.GetProperty("reason").GetString());
        Assert.True(last.GetProperty("clean").GetBoolean());
        Assert.DoesNotContain(observer.Messages, m => m.Payload.Contains("connection_lost", StringComparison.Ordinal));
        Assert.True(host.Log.IndexOf("mqtt_connected client=mon", StringComparison.Ordinal) < host.Log.IndexOf("broker_stopped", StringComparison.Ordinal),
            "the embedded broker stops last");
    }

    [Fact]
    [Trait("spec", "E-21")]
    public async Task E21_LastWillOnCrash_OfflineConnectionLostThenANewInstanceComesOnline()
    {
        // arrange: the test's broker; the host as a child process (so it can be killed), keepalive 2 s.
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        await broker.StartAsync();
        string file = Write($"broker: mqtt://127.0.0.1:{broker.Port}", "  mqtt: { keepalive: 2s }");
        await using Observer observer = await Observer.ConnectAsync(broker.Port, Prefix + "/runtime/state", Prefix + "/status/#");
        string oldInstance;
        var stdout = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using (Process process = StartHostProcess(file, stdout))
        {
            try
            {
                Received online = observer.WaitFor(m => m.State == "online", "the host process online", TimeSpan.FromSeconds(30));
                oldInstance = online.Json.GetProperty("instance").GetString()!;
                observer.WaitFor(m => m.Topic == Prefix + "/status/lines/a", "the status of lines/a");

                // act: SIGKILL
                process.Kill();
                var killed = Stopwatch.StartNew();
                Received will = observer.WaitFor(m => m.State == "offline", "the last will", TimeSpan.FromSeconds(4));
                killed.Stop();

                // assert: the will, within 4 s, naming the old instance
                JsonElement json = will.Json;
                Assert.Equal("connection_lost", json.GetProperty("reason").GetString());
                Assert.Equal(oldInstance, json.GetProperty("instance").GetString());
                Assert.True(killed.Elapsed < TimeSpan.FromSeconds(4), $"will after {killed.Elapsed}");
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }
            }
        }

        // the retained state and the node statuses stay on the broker meanwhile
        await using (Observer late = await Observer.ConnectAsync(broker.Port, Prefix + "/runtime/state", Prefix + "/status/#"))
        {
            Received retained = late.WaitFor(m => m.Topic == Prefix + "/runtime/state", "the retained runtime state");
            Assert.Equal("offline", retained.State);
            Assert.Equal("connection_lost", retained.Json.GetProperty("reason").GetString());
            late.WaitFor(m => m.Topic == Prefix + "/status/lines/a" && m.Payload.Length > 0, "the retained status of lines/a");
        }

        // act: start again (in-process this time)
        int mark = observer.Messages.Count;
        await using InProcessHost again = InProcessHost.Start(file);
        Received back = observer.WaitFor(m => m.Index > mark && m.State == "online", "online after the restart", TimeSpan.FromSeconds(20));

        // assert: starting, then online with a new instance; the status re-published
        string[] after = [.. observer.On(Prefix + "/runtime/state").Where(m => m.Index > mark).Select(m => m.State ?? "")];
        Assert.Equal("starting", after[0]);
        Assert.NotEqual(oldInstance, back.Json.GetProperty("instance").GetString());
        observer.WaitFor(m => m.Index > mark && m.Topic == Prefix + "/status/lines/a", "the status re-published after the restart");

        // the orphan sweep after the restart finds nothing to clear: the tree is the one the statuses came from
        again.WaitForLog("status_orphans_cleared", TimeSpan.FromSeconds(15));
        Assert.Contains("status_orphans_cleared count=0", again.Log, StringComparison.Ordinal);
        Assert.Equal(0, await again.StopAsync());
    }

    private static Process StartHostProcess(string file, System.Collections.Concurrent.ConcurrentQueue<string> stdout)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "fsm2-edge.dll"), "run", "--config", file, "--no-watch"])
        {
            info.ArgumentList.Add(arg);
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start fsm2-edge");
        process.OutputDataReceived += (_, e) => stdout.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => stdout.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
