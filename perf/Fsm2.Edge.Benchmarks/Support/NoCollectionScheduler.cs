using Fsm2.Edge.Collection;

namespace Fsm2.Edge.Benchmarks.Support;

/// <summary>
/// A scheduler that never collects: benchmarks start no collectors and put observations into the slots themselves
/// (shared/spec/70-performance.md §5, W2). The tick still calls <see cref="Start"/> when a worker publishes its first
/// desired record; that call costs nothing here, so W3 numbers exclude the production scheduler's loop start.
/// </summary>
internal sealed class NoCollectionScheduler : IObservationScheduler
{
    public void Start(Collector collector)
    {
    }

    public void Restart(Collector collector)
    {
    }

    public void Stop(Collector collector)
    {
    }

    public void RequestCollection(Collector collector)
    {
    }
}
