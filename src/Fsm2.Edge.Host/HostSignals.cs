namespace Fsm2.Edge.Host;

/// <summary>
/// SIGINT/SIGTERM as the host sees them (50-runtime-monitoring §10): the first requests a graceful shutdown, a second
/// forces it. <see cref="Program"/> wires the POSIX signals; tests call <see cref="Request"/>.
/// </summary>
internal sealed class HostSignals : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _force = new();
    private int _count;

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Cancelled by the second signal.</summary>
    public CancellationToken Force => _force.Token;

    /// <summary>The name of the first signal, once one arrived.</summary>
    public string? FirstSignal { get; private set; }

    /// <summary>The name of the second signal, once one arrived.</summary>
    public string? SecondSignal { get; private set; }

    /// <summary>Records a signal: the first stops, the second forces; later ones are ignored.</summary>
    public void Request(string signal)
    {
        switch (Interlocked.Increment(ref _count))
        {
            case 1:
                FirstSignal = signal;
                _stopping.Cancel();
                break;
            case 2:
                SecondSignal = signal;
                _force.Cancel();
                break;
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _force.Dispose();
    }
}
