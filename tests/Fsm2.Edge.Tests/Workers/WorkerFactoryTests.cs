using Fsm2.Edge.Tests.TestSupport;
using Fsm2.Edge.Workers;

namespace Fsm2.Edge.Tests.Workers;

/// <summary>The worker registry (§7).</summary>
public sealed class WorkerFactoryTests
{
    private static readonly Identity s_identity = new("pc1/conn", "conn", "a", "pc1");

    [Fact]
    [Trait("spec", "C-04")]
    public void C04_NewWorkerCalledTwice_ReturnsDistinctInstancesBuiltWithTheIdentity()
    {
        // arrange
        var factory = new WorkerFactory();
        var seen = new List<Identity>();
        factory.Register<TestObserved, string>("a", id =>
        {
            seen.Add(id);
            return new TestWorker(id);
        });

        // act
        IWorkerHandle first = factory.NewWorker("a", s_identity);
        IWorkerHandle second = factory.NewWorker("a", s_identity);

        // assert
        Assert.NotSame(first.Worker, second.Worker);
        Assert.Same(s_identity, ((TestWorker)first.Worker).Identity);
        Assert.Same(s_identity, ((TestWorker)second.Worker).Identity);
        Assert.Equal(s_identity, first.Identity);
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    [Trait("spec", "C-05")]
    public void C05_EmptyRegistry_NewWorkerFailsAndListIsEmpty()
    {
        // arrange
        var factory = new WorkerFactory();

        // act
        ArgumentException unknown = Assert.ThrowsAny<ArgumentException>(() => factory.NewWorker("zzz", s_identity));
        ArgumentException empty = Assert.ThrowsAny<ArgumentException>(() => factory.NewWorker("", s_identity));
        IReadOnlyList<string> types = factory.ListRegisteredTypes();

        // assert
        Assert.StartsWith("unknown worker type: zzz", unknown.Message, StringComparison.Ordinal);
        Assert.StartsWith("worker type cannot be empty", empty.Message, StringComparison.Ordinal);
        Assert.NotNull(types);
        Assert.Empty(types);
    }

    [Fact]
    [Trait("spec", "C-06")]
    public void C06_RegisterTwice_FailsWithAlreadyRegistered()
    {
        // arrange
        var factory = new WorkerFactory();
        factory.Register<TestObserved, string>("a", id => new TestWorker(id));
        long version = factory.Version;

        // act
        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(
            () => factory.Register<TestObserved, string>("a", id => new TestWorker(id)));

        // assert
        Assert.Equal("worker type already registered: a", ex.Message);
        Assert.Equal(version, factory.Version);
        Assert.Equal(["a"], factory.ListRegisteredTypes());
    }

    [Fact]
    [Trait("spec", "C-06")]
    public void C06_RegisterNullConstructor_ThrowsArgumentNullException()
    {
        // arrange
        var factory = new WorkerFactory();

        // act
        Assert.Throws<ArgumentNullException>(() => factory.Register<TestObserved, string>("a", null!));

        // assert
        Assert.Empty(factory.ListRegisteredTypes());
    }

    [Fact]
    [Trait("spec", "C-06")]
    public void Register_EmptyType_ThrowsWorkerTypeCannotBeEmpty()
    {
        // arrange
        var factory = new WorkerFactory();

        // act
        ArgumentException ex = Assert.ThrowsAny<ArgumentException>(() => factory.Register<TestObserved, string>("", id => new TestWorker(id)));

        // assert
        Assert.StartsWith("worker type cannot be empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "C-07")]
    public void C07_TenThreadsRegisterConcurrently_AllTypesRegisteredAndResolvable()
    {
        // arrange
        var factory = new WorkerFactory();
        using var start = new Barrier(10);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = new Thread[10];
        for (int i = 0; i < threads.Length; i++)
        {
            string type = $"type-{i}";
            threads[i] = new Thread(() =>
            {
                try
                {
                    start.SignalAndWait(Wait.DefaultTimeout);
                    factory.Register<TestObserved, string>(type, id => new TestWorker(id));
                }
                catch (Exception ex)
                {
                    errors.Enqueue(ex);
                }
            });
        }

        // act
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Wait.DefaultTimeout), "a registering thread did not finish");
        }

        // assert
        Assert.Empty(errors);
        IReadOnlyList<string> types = factory.ListRegisteredTypes();
        Assert.Equal(10, types.Count);
        Assert.Equal(10, factory.Version);
        for (int i = 0; i < 10; i++)
        {
            var identity = new Identity($"w{i}", $"w{i}", $"type-{i}", "");
            Assert.Contains($"type-{i}", types);
            Assert.IsType<TestWorker>(factory.NewWorker($"type-{i}", identity).Worker);
        }
    }
}
