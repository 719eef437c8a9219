namespace Fsm2.Edge.Workers;

/// <summary>A non-generic handle over one typed worker instance created by a <see cref="WorkerFactory"/>.</summary>
public interface IWorkerHandle
{
    /// <summary>The identity the worker was built with.</summary>
    Identity Identity { get; }

    /// <summary>The worker instance.</summary>
    object Worker { get; }
}
