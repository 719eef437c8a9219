using System.Globalization;
using System.Runtime.InteropServices;
using Fsm2.Edge.Host.Demo;

namespace Fsm2.Edge.Host;

/// <summary>
/// The <c>fsm2-edge</c> command line. Exit codes: 0 success (clean shutdown), 1 unclean shutdown (nodes were forced),
/// 2 usage error, 70 internal error (an invariant violation stopped the runtime).
/// </summary>
internal static class Program
{
    private const string Usage = """
        fsm2-edge — the Fsm2.Edge runtime host

        usage:
          fsm2-edge demo [--duration SECONDS] [--cycle SECONDS]
              Runs two demo production lines (a parent with a pump and a valve each) until Ctrl+C or --duration.
              line-a alternates between production and maintenance every --cycle seconds (default 6).
          fsm2-edge --help
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" || args.Contains("--help"))
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        if (args[0] != "demo")
        {
            Console.Error.WriteLine($"unknown command '{args[0]}'");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        TimeSpan? duration = null;
        TimeSpan cycle = TimeSpan.FromSeconds(6);
        for (int i = 1; i < args.Length; i++)
        {
            if (i + 1 < args.Length && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0)
            {
                switch (args[i])
                {
                    case "--duration":
                        duration = TimeSpan.FromSeconds(seconds);
                        i++;
                        continue;
                    case "--cycle":
                        cycle = TimeSpan.FromSeconds(seconds);
                        i++;
                        continue;
                }
            }

            Console.Error.WriteLine($"invalid argument '{args[i]}' (durations are positive numbers of seconds)");
            return 2;
        }

        using var stopping = new CancellationTokenSource();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stopping.Cancel();
        });
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stopping.Cancel();
        });

        try
        {
            return await DemoCommand.RunAsync(duration, cycle, stopping.Token).ConfigureAwait(false);
        }
        catch (Fsm2.Edge.Workers.InvariantViolationException ex)
        {
            Console.Error.WriteLine($"internal error: {ex.Message}");
            return 70;
        }
    }
}
