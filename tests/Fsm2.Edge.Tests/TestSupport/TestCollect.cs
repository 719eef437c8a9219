namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>Collection behaviours for <see cref="TestWorker.OnCollect"/>.</summary>
public static class TestCollect
{
    /// <summary>A collection that delivers nothing and ends (cancelled) only when its token is cancelled.</summary>
    public static ValueTask<TestObserved> UntilCancelled(CancellationToken cancellationToken)
    {
        var pending = new TaskCompletionSource<TestObserved>();
        cancellationToken.Register(() => pending.TrySetCanceled(cancellationToken));
        return new ValueTask<TestObserved>(pending.Task);
    }
}
