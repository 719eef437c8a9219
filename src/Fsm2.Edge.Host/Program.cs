using System.Runtime.InteropServices;
using Fsm2.Edge.Host.Commands;

namespace Fsm2.Edge.Host;

/// <summary>
/// The <c>fsm2-edge</c> entry point: wires SIGINT/SIGTERM to <see cref="HostSignals"/> (the default termination is
/// cancelled, so the host drains within the profile's budget) and runs the command line. Exit codes: see
/// <see cref="ExitCodes"/>.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var signals = new HostSignals();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            signals.Request("SIGINT");
        });
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            signals.Request("SIGTERM");
        });

        try
        {
            return await Cli.InvokeAsync(args, Console.Out, Console.Error, signals).ConfigureAwait(false);
        }
        catch (Fsm2.Edge.Workers.InvariantViolationException ex)
        {
            await Console.Error.WriteLineAsync($"internal error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.InvariantViolation;
        }
    }
}
