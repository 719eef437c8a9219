using Fsm2.Edge.Execution;

namespace Fsm2.Edge.Tests.Execution;

public sealed class ActionRingTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(100)]
    [InlineData(131_072)]
    public void Constructor_CapacityNotAPowerOfTwoInRange_Throws(int capacity)
    {
        ArgumentOutOfRangeException error = Assert.Throws<ArgumentOutOfRangeException>(() => new ActionRing<int>(capacity));
        Assert.Contains("power of two", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryEnqueue_UntilFull_ReturnsFalseAndKeepsFifoOrder()
    {
        // arrange
        var ring = new ActionRing<int>(16);

        // act
        int accepted = 0;
        while (ring.TryEnqueue(accepted))
        {
            accepted++;
        }

        var drained = new List<int>();
        while (ring.TryDequeue(out int item))
        {
            drained.Add(item);
        }

        // assert
        Assert.Equal(16, accepted);
        Assert.Equal(Enumerable.Range(0, 16), drained);
        Assert.False(ring.TryDequeue(out _));
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void TryEnqueue_AfterManyLaps_StillAcceptsExactlyCapacity()
    {
        // arrange
        var ring = new ActionRing<string>(16);
        for (int lap = 0; lap < 1_000; lap++)
        {
            Assert.True(ring.TryEnqueue("x"));
            Assert.True(ring.TryDequeue(out string? item));
            Assert.Equal("x", item);
        }

        // act
        int accepted = 0;
        while (ring.TryEnqueue("y"))
        {
            accepted++;
        }

        // assert
        Assert.Equal(16, accepted);
        Assert.Equal(16, ring.Count);
    }

    [Fact]
    public void EnqueueDequeue_SteadyState_Allocates0Bytes()
    {
        // arrange
        var ring = new ActionRing<int>(1024);
        for (int i = 0; i < 1_000; i++)
        {
            ring.TryEnqueue(i);
            ring.TryDequeue(out _);
        }

        // act
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            ring.TryEnqueue(i);
            ring.TryDequeue(out _);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // assert
        Assert.Equal(0, allocated);
    }

    [Fact]
    [Trait("spec", "A-10")]
    public void A10_OneProducerEightConsumers_TenMillionItemsEachDequeuedExactlyOnce()
    {
        // arrange: numbered items; a torn or duplicated item shows up as a count other than 1.
        const int Items = 10_000_000;
        var ring = new ActionRing<int>(1024);
        int[] seen = new int[Items];
        int consumed = 0;
        bool producerDone = false;
        var consumers = new Thread[8];
        for (int c = 0; c < consumers.Length; c++)
        {
            consumers[c] = new Thread(() =>
            {
                var spin = new SpinWait();
                while (true)
                {
                    if (ring.TryDequeue(out int item))
                    {
                        Interlocked.Increment(ref seen[item]);
                        Interlocked.Increment(ref consumed);
                        spin.Reset();
                        continue;
                    }

                    if (Volatile.Read(ref producerDone) && ring.Count == 0)
                    {
                        return;
                    }

                    spin.SpinOnce(sleep1Threshold: -1);
                }
            }) { IsBackground = true };
            consumers[c].Start();
        }

        // act: the single producer never waits inside the ring; it retries when the ring is full.
        int refused = 0;
        var producerSpin = new SpinWait();
        for (int i = 0; i < Items; i++)
        {
            while (!ring.TryEnqueue(i))
            {
                refused++;
                producerSpin.SpinOnce(sleep1Threshold: -1);
            }
        }

        Volatile.Write(ref producerDone, true);
        foreach (Thread consumer in consumers)
        {
            Assert.True(consumer.Join(TimeSpan.FromSeconds(30)), "a consumer did not finish");
        }

        // assert
        Assert.Equal(Items, consumed);
        Assert.DoesNotContain(seen, count => count != 1);
    }

    /// <remarks>The executor's completion ring: action threads publish shared, the tick drains as single consumer.</remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ManyProducersOneConsumer_SharedEnqueue_EveryItemDeliveredExactlyOnce(bool singleConsumerDequeue)
    {
        // arrange
        const int PerProducer = 200_000;
        const int Producers = 4;
        var ring = new ActionRing<int>(128);
        int[] seen = new int[PerProducer * Producers];
        var producers = new Thread[Producers];
        for (int p = 0; p < Producers; p++)
        {
            int offset = p * PerProducer;
            producers[p] = new Thread(() =>
            {
                var spin = new SpinWait();
                for (int i = 0; i < PerProducer; i++)
                {
                    while (!ring.TryEnqueueShared(offset + i))
                    {
                        spin.SpinOnce(sleep1Threshold: -1);
                    }
                }
            }) { IsBackground = true };
        }

        // act
        foreach (Thread producer in producers)
        {
            producer.Start();
        }

        int consumed = 0;
        var consumerSpin = new SpinWait();
        long deadline = Environment.TickCount64 + 30_000;
        while (consumed < seen.Length && Environment.TickCount64 < deadline)
        {
            int item;
            if (singleConsumerDequeue ? ring.TryDequeueSingle(out item) : ring.TryDequeue(out item))
            {
                seen[item]++;
                consumed++;
            }
            else
            {
                consumerSpin.SpinOnce(sleep1Threshold: -1);
            }
        }

        // assert
        Assert.Equal(seen.Length, consumed);
        Assert.DoesNotContain(seen, count => count != 1);
    }
}
