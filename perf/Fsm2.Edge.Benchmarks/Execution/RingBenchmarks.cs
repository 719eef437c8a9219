using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using Fsm2.Edge.Execution;

namespace Fsm2.Edge.Benchmarks.Execution;

/// <summary>
/// The request ring against the bounded <see cref="Channel{T}"/> baseline (shared/spec/40-actions.md §5, benchmarks 1
/// and 2; 70-performance §7, gate G1). Both sides: capacity 1,024, item <see cref="int"/>, the channel created with
/// <c>SingleWriter = true, SingleReader = false, FullMode = Wait</c> and used through <c>TryWrite</c> / <c>TryRead</c>
/// only.
/// </summary>
/// <remarks>
/// <para>
/// <c>Pair</c>: one enqueue and one dequeue on the benchmark thread, one pair per invocation. G1 reads this category:
/// the ring's <c>Ratio</c> must be ≤ 1.0 against the channel pair and its <c>Allocated</c> column must be 0 B.
/// </para>
/// <para>
/// <c>HandOff</c>: the benchmark thread (the only producer) moves <see cref="HandOffItems"/> items to
/// <see cref="Consumers"/> consumer threads, which poll with a yielding <see cref="SpinWait"/> (no <c>Sleep(1)</c>)
/// when the queue is empty; the producer spins the same way when it is full. The consumer threads are created once
/// and released per invocation by a semaphore; an invocation ends when every consumer has seen the producer finish
/// and the queue empty. The time is per item (<c>OperationsPerInvoke</c>) and includes the per-invocation release and
/// join of the consumers (a few microseconds over 100,000 items). With 4 consumers on a 2-vCPU machine the threads
/// are oversubscribed: that case measures contention and yielding, not parallel throughput.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Config(typeof(PairOnceFilter))]
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "BenchmarkDotNet owns the instance and calls [GlobalCleanup], which disposes the hand-off harness; it never calls Dispose.")]
public class RingBenchmarks
{
    /// <summary>Queue capacity on both sides (a power of two within the ring's 16..65,536).</summary>
    public const int Capacity = 1024;

    /// <summary>Items moved per <c>CrossThreadHandOff</c> invocation.</summary>
    public const int HandOffItems = 100_000;

    private const string PairCategory = "Pair";
    private const string HandOffCategory = "HandOff";

    private ActionRing<int> _ring = null!;
    private Channel<int> _channel = null!;
    private ChannelWriter<int> _writer = null!;
    private ChannelReader<int> _reader = null!;
    private HandOff? _handOff;
    private int _value;

    /// <summary>Consumer threads for the hand-off category (the pair methods ignore it and run for 1 only).</summary>
    [Params(1, 2, 4, 8)]
    public int Consumers { get; set; }

    [GlobalSetup(Targets = [nameof(EnqueueDequeuePair), nameof(ChannelWriteReadPair)])]
    public void SetUpPair() => CreateQueues();

    [GlobalSetup(Target = nameof(CrossThreadHandOff))]
    public void SetUpRingHandOff()
    {
        CreateQueues();
        _handOff = new HandOff(Consumers, TryTakeFromRing, TryPutIntoRing);
    }

    [GlobalSetup(Target = nameof(ChannelCrossThreadHandOff))]
    public void SetUpChannelHandOff()
    {
        CreateQueues();
        _handOff = new HandOff(Consumers, TryTakeFromChannel, TryPutIntoChannel);
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _handOff?.Dispose();
        _handOff = null;
    }

    /// <summary>G1: one ring <c>TryEnqueue</c> (single producer) + <c>TryDequeue</c> on one thread.</summary>
    /// <returns>The item taken.</returns>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory(PairCategory)]
    public int EnqueueDequeuePair()
    {
        _ring.TryEnqueue(++_value);
        _ring.TryDequeue(out int item);
        return item;
    }

    /// <summary>G1 baseline: one bounded channel <c>TryWrite</c> + <c>TryRead</c> on one thread.</summary>
    /// <returns>The item read.</returns>
    [Benchmark]
    [BenchmarkCategory(PairCategory)]
    public int ChannelWriteReadPair()
    {
        _writer.TryWrite(++_value);
        _reader.TryRead(out int item);
        return item;
    }

    /// <summary>CrossThreadHandOff, ring: one producer, <see cref="Consumers"/> consumers; time per item.</summary>
    /// <returns>The checksum of the items taken.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = HandOffItems)]
    [BenchmarkCategory(HandOffCategory)]
    public long CrossThreadHandOff() => _handOff!.Run(HandOffItems);

    /// <summary>CrossThreadHandOff, channel baseline: one producer, <see cref="Consumers"/> consumers; time per item.</summary>
    /// <returns>The checksum of the items taken.</returns>
    [Benchmark(OperationsPerInvoke = HandOffItems)]
    [BenchmarkCategory(HandOffCategory)]
    public long ChannelCrossThreadHandOff() => _handOff!.Run(HandOffItems);

    private void CreateQueues()
    {
        _ring = new ActionRing<int>(Capacity);
        _channel = Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity)
        {
            SingleWriter = true,
            SingleReader = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = _channel.Writer;
        _reader = _channel.Reader;
    }

    private bool TryPutIntoRing(int item) => _ring.TryEnqueue(item);

    private bool TryTakeFromRing(out int item) => _ring.TryDequeue(out item);

    private bool TryPutIntoChannel(int item) => _writer.TryWrite(item);

    private bool TryTakeFromChannel(out int item) => _reader.TryRead(out item);

    private delegate bool TryTake(out int item);

    /// <summary>Runs the single-thread pair methods once (for <c>Consumers = 1</c>), not once per consumer count.</summary>
    public sealed class PairOnceFilter : ManualConfig
    {
        /// <summary>Creates the filter.</summary>
        public PairOnceFilter()
            => AddFilter(new SimpleFilter(c => !c.Descriptor.Categories.Contains(PairCategory) || (int)c.Parameters[nameof(Consumers)] == 1));
    }

    /// <summary>
    /// Persistent consumer threads released once per invocation. The delegates are created once in set-up, so an
    /// invocation allocates nothing; the delegate call costs the same on both sides.
    /// </summary>
    private sealed class HandOff : IDisposable
    {
        private readonly TryTake _take;
        private readonly Func<int, bool> _put;
        private readonly Thread[] _threads;
        private readonly SemaphoreSlim _go = new(0);
        private readonly CountdownEvent _done;
        private volatile bool _producerDone;
        private volatile bool _exit;
        private long _taken;
        private long _checksum;

        public HandOff(int consumers, TryTake take, Func<int, bool> put)
        {
            _take = take;
            _put = put;
            _done = new CountdownEvent(consumers);
            _threads = new Thread[consumers];
            for (int i = 0; i < consumers; i++)
            {
                _threads[i] = new Thread(Consume) { IsBackground = true, Name = $"bench-consumer-{i}" };
                _threads[i].Start();
            }
        }

        public long Run(int items)
        {
            _producerDone = false;
            Interlocked.Exchange(ref _taken, 0);
            Interlocked.Exchange(ref _checksum, 0);
            _done.Reset();
            _go.Release(_threads.Length);

            for (int i = 1; i <= items; i++)
            {
                if (!_put(i))
                {
                    var spin = default(SpinWait);
                    do
                    {
                        spin.SpinOnce(sleep1Threshold: -1);
                    }
                    while (!_put(i));
                }
            }

            _producerDone = true;
            _done.Wait();
            if (Volatile.Read(ref _taken) != items)
            {
                throw new InvalidOperationException($"hand-off lost items: {Volatile.Read(ref _taken)} of {items} taken");
            }

            return Volatile.Read(ref _checksum);
        }

        public void Dispose()
        {
            _exit = true;
            _go.Release(_threads.Length);
            foreach (Thread thread in _threads)
            {
                thread.Join();
            }

            _go.Dispose();
            _done.Dispose();
        }

        private void Consume()
        {
            while (true)
            {
                _go.Wait();
                if (_exit)
                {
                    return;
                }

                long taken = 0;
                long sum = 0;
                var spin = default(SpinWait);
                while (true)
                {
                    if (_take(out int item))
                    {
                        taken++;
                        sum += item;
                        spin.Reset();
                        continue;
                    }

                    // Read the flag before the final look: once the producer is done, every item is in the queue.
                    if (_producerDone)
                    {
                        if (_take(out item))
                        {
                            taken++;
                            sum += item;
                            continue;
                        }

                        break;
                    }

                    spin.SpinOnce(sleep1Threshold: -1);
                }

                Interlocked.Add(ref _taken, taken);
                Interlocked.Add(ref _checksum, sum);
                _done.Signal();
            }
        }
    }
}
