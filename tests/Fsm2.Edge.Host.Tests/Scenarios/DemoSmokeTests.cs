using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fsm2.Edge.Host.Tests.TestSupport;
using Fsm2.Edge.Tests.TestSupport;

namespace Fsm2.Edge.Host.Tests.Scenarios;

/// <summary>
/// E-01 (60-scenarios): the built host as a child process (mode C), <c>fsm2-edge demo --port 0 --duration 12s --plain</c>,
/// with no config file anywhere; the observer subscribes on the port printed in <c>broker_started</c>.
/// </summary>
public sealed partial class DemoSmokeTests
{
    private const int Devices = 3;

    [Fact]
    [Trait("spec", "E-01")]
    public async Task E01_DemoSmokeRun_AllActiveUnsTrafficPerDeviceCleanOfflineExit0()
    {
        // arrange: an empty working directory, so nothing on disk but the host and its hw-profiles/ folder.
        DirectoryInfo empty = Directory.CreateTempSubdirectory("fsm2-demo-");
        var stdout = new ConcurrentQueue<string>();
        using Process process = StartDemo(stdout, empty.FullName, "--port", "0", "--duration", "12s", "--plain");
        try
        {
            string brokerLine = WaitForLine(stdout, process, l => l.Contains("broker_started", StringComparison.Ordinal), "broker_started");
            int port = int.Parse(BrokerPort().Match(brokerLine).Groups[1].Value, CultureInfo.InvariantCulture);
            await using Observer observer = await Observer.ConnectAsync(port, "umh/v1/#", "fsm2/+/runtime/state");

            // act: the run ends by itself after --duration; meanwhile every device's tags reach the UNS.
            for (int d = 1; d <= Devices; d++)
            {
                string root = UnsRoot(d);
                Wait.Until(() => observer.Messages.Count(m => m.Topic.StartsWith(root, StringComparison.Ordinal)) >= 3,
                    $"three UNS messages of press-{d}", TimeSpan.FromSeconds(10));
            }

            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "the demo exits after --duration");
            process.WaitForExit(); // drains the asynchronous stdout readers.

            // assert: a printed table with every node active and full, and no breaker open.
            string[] lines = [.. stdout];
            List<string[]> tables = Tables(lines);
            int nodes = 2 + (4 * Devices); // two groups, N simulators, N converters with a connection and a source each.
            string[] ready = tables.FirstOrDefault(t => t.Length == nodes + 3 && Rows(t).All(r => r.State == "active" && r.Mode == "full"))
                ?? throw new Xunit.Sdk.XunitException("no table with every node active/full:\n" + string.Join('\n', lines));
            Assert.Contains("breakers open 0", ready[^1], StringComparison.Ordinal);
            Assert.Contains(Rows(ready), r => r.Node == $"assembly/pc-press-{Devices}/source" && r.Type == "source-flow");

            // ≥ 3 UNS messages per device in the first 5 s of its traffic (by the payloads' timestamps), on the
            // location path acme.plant-1.assembly.press-N.
            for (int d = 1; d <= Devices; d++)
            {
                string root = UnsRoot(d);
                long[] stamps = [.. observer.Messages.Where(m => m.Topic.StartsWith(root, StringComparison.Ordinal))
                    .Select(m => m.Json.GetProperty("timestamp_ms").GetInt64())];
                Assert.True(stamps.Count(t => t < stamps.Min() + 5000) >= 3, $"press-{d}: {stamps.Length} UNS messages");
            }

            // runtime/state: (starting) → online with increasing seq → stopping → offline / shutdown / clean.
            Received[] states = [.. observer.Messages.Where(m => m.Topic == "fsm2/demo/runtime/state")];
            string[] names = [.. states.Select(s => s.State ?? "")];
            Assert.True(names[0] is "starting" or "online", string.Join(",", names));
            long[] onlineSeq = [.. states.Where(s => s.State == "online").Select(s => s.Json.GetProperty("seq").GetInt64())];
            Assert.True(onlineSeq.Length >= 2, "heartbeats every 5 s during a 12 s run: " + string.Join(",", names));
            Assert.Equal(onlineSeq.Order(), onlineSeq);
            Assert.Equal(onlineSeq.Distinct().Count(), onlineSeq.Length);
            Assert.Equal("stopping", names[^2]);
            Assert.Equal("offline", names[^1]);
            JsonElement offline = states[^1].Json;
            Assert.Equal("shutdown", offline.GetProperty("reason").GetString());
            Assert.True(offline.GetProperty("clean").GetBoolean());

            // exit 0, no line at Error or above.
            Assert.Equal(0, process.ExitCode);
            Assert.DoesNotContain(lines, l => l.StartsWith("error", StringComparison.Ordinal) || l.StartsWith("crit", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("shutdown_completed", StringComparison.Ordinal) && l.Contains("clean=True", StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            empty.Delete(recursive: true);
        }
    }

    private static string UnsRoot(int device) => $"umh/v1/acme.plant-1.assembly.press-{device}/_historian/";

    private static Process StartDemo(ConcurrentQueue<string> stdout, string workingDirectory, params string[] args)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "fsm2-edge.dll"), "demo", .. args])
        {
            info.ArgumentList.Add(arg);
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start fsm2-edge");
        process.OutputDataReceived += (_, e) => stdout.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => stdout.Enqueue("stderr: " + (e.Data ?? ""));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string WaitForLine(ConcurrentQueue<string> stdout, Process process, Func<string, bool> match, string what)
    {
        string? found = null;
        Wait.Until(() => (found = stdout.FirstOrDefault(match)) is not null || process.HasExited, what, TimeSpan.FromSeconds(30));
        return found ?? throw new Xunit.Sdk.XunitException($"the demo exited before {what}:\n{string.Join('\n', stdout)}");
    }

    // A table: the header line, the column line, the rows, the footer.
    private static List<string[]> Tables(string[] lines)
    {
        var tables = new List<string[]>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("fsm2-edge demo ", StringComparison.Ordinal))
            {
                continue;
            }

            int end = Array.FindIndex(lines, i, l => l.StartsWith("actions in flight ", StringComparison.Ordinal));
            if (end > i)
            {
                tables.Add(lines[i..(end + 1)]);
                i = end;
            }
        }

        return tables;
    }

    private static IEnumerable<(string Node, string Type, string State, string Mode)> Rows(string[] table)
    {
        foreach (string row in table[2..^1])
        {
            string[] cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            yield return (cells[0], cells[1], cells[2], cells[3]);
        }
    }

    [GeneratedRegex(@"broker_started mode=embedded endpoint=mqtt://127\.0\.0\.1:(\d+)")]
    private static partial Regex BrokerPort();
}
