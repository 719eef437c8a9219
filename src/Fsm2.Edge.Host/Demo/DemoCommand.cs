using System.Globalization;
using System.Text;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Host.Demo;

/// <summary>
/// <c>fsm2-edge demo</c>: two production lines, each a parent with a pump and a valve, supervised on the tick thread.
/// Every cycle the operator override flips <c>line-a</c> between production and maintenance, and the state mapping
/// carries the change down to its pump and valve. Transitions are logged; a status table is printed every 2 s.
/// </summary>
internal static class DemoCommand
{
    /// <summary>Status table period; 2 s is arbitrary, frequent enough to follow the transitions.</summary>
    private static readonly TimeSpan s_tablePeriod = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(TimeSpan? duration, TimeSpan cycle, CancellationToken stopping)
    {
        using ILoggerFactory loggers = LoggerFactory.Create(b => b
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            })
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Fsm2.Edge.Tree", LogLevel.Information));

        var factory = new WorkerFactory();
        factory.Register<LineObserved, string>("line", _ => new LineWorker());
        factory.Register<DeviceObserved, string>("device", _ => new DeviceWorker());

        var options = new RuntimeOptions
        {
            // The demo's devices switch in 400 ms; collect every 200 ms so transitions follow promptly.
            ObservationInterval = TimeSpan.FromMilliseconds(200),
        };
        await using var runtime = new SupervisorRuntime(factory, options, TimeProvider.System, loggers);
        runtime.SetConfiguration(
        [
            new ChildSpec("line-a", "line", new UserSpec("production")),
            new ChildSpec("line-b", "line", new UserSpec("production")),
        ]);

        using var timeLimit = new CancellationTokenSource(duration ?? Timeout.InfiniteTimeSpan, TimeProvider.System);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeLimit.Token);

        Console.WriteLine("fsm2-edge demo: two lines (pump + valve each). line-a alternates production/maintenance every "
            + $"{cycle.TotalSeconds:0} s through its state mapping. Ctrl+C stops gracefully.");
        Task<ShutdownResult> run = runtime.RunAsync(limit.Token);
        bool maintenance = false;
        DateTimeOffset nextFlip = TimeProvider.System.GetUtcNow() + cycle;
        using var table = new PeriodicTimer(s_tablePeriod, TimeProvider.System);
        try
        {
            while (await table.WaitForNextTickAsync(limit.Token).ConfigureAwait(false))
            {
                Console.WriteLine(Render(runtime.Status, runtime.TickCount));
                if (TimeProvider.System.GetUtcNow() >= nextFlip)
                {
                    maintenance = !maintenance;
                    string state = maintenance ? "maintenance" : "production";
                    Console.WriteLine($"operator: line-a -> {state}");
                    runtime.SetDesiredStateOverride("line-a", state);
                    nextFlip += cycle;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C, SIGTERM or --duration: fall through to the graceful drain.
        }

        ShutdownResult result = await run.ConfigureAwait(false);
        Console.WriteLine(Render(runtime.Status, runtime.TickCount));
        Console.WriteLine($"shutdown: clean={result.Clean} forced={result.ForcedNodes.Count} in {result.Elapsed.TotalMilliseconds:0} ms");
        return result.Clean ? ExitCodes.Success : ExitCodes.UncleanShutdown;
    }

    private static string Render(RuntimeStatus status, long ticks)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"--- tick {ticks} ---");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"node",-14} {"state",-10} {"desired",-12} reason");
        foreach (NodeStatus node in status.Nodes)
        {
            string indent = new(' ', 2 * node.Path.Count(c => c == '/'));
            text.AppendLine(CultureInfo.InvariantCulture, $"{indent + node.Path,-14} {node.State,-10} {node.EffectiveDesiredState,-12} {node.Reason}");
        }

        return text.ToString().TrimEnd();
    }
}
