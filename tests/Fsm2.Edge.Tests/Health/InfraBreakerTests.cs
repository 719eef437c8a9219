using Fsm2.Edge.Health;

namespace Fsm2.Edge.Tests.Health;

/// <summary>The breaker struct and the panic window as pure functions of stamps (30-supervision §5.3, §9.3, §14).</summary>
public sealed class InfraBreakerTests
{
    // One stamp unit = one tick (100 ns), as FakeTimeProvider reports; the policy is in those units.
    private static readonly long s_second = TimeSpan.TicksPerSecond;

    private static BreakerPolicy Policy(double jitter = 0)
        => new(s_second, 60 * s_second, 60 * s_second, jitter, 3, 5);

    /// <summary>Fails every evaluation (trials at their due stamp) and returns the delays before each trial.</summary>
    private static List<long> FailedDelays(ref InfraBreaker breaker, in BreakerPolicy policy, int evaluations)
    {
        var delays = new List<long>();
        long now = 1_000 * s_second;
        for (int i = 0; i < evaluations; i++)
        {
            Assert.True(breaker.BeginTick(now));
            breaker.Report(healthy: false, now, in policy);
            delays.Add(breaker.NextTrialAt - now);
            Assert.False(breaker.BeginTick(breaker.NextTrialAt - 1));
            now = breaker.NextTrialAt;
        }

        return delays;
    }

    [Fact]
    [Trait("spec", "S-05")]
    public void S05_EightFailedEvaluations_DelaysDoubleToSixtyAndStay()
    {
        // arrange
        BreakerPolicy policy = Policy();
        var breaker = new InfraBreaker(0, 7);

        // act
        List<long> delays = FailedDelays(ref breaker, in policy, 8);

        // assert
        Assert.Equal(new long[] { 1, 2, 4, 8, 16, 32, 60, 60 }, delays.Select(d => d / s_second));
        Assert.Equal(8, breaker.Attempts);
        Assert.Equal(BreakerState.Open, breaker.State);
    }

    [Fact]
    [Trait("spec", "S-05")]
    public void Delay_HugeAttemptCount_StaysAtTheCapWithoutOverflow()
    {
        BreakerPolicy policy = Policy();
        Assert.Equal(60 * s_second, InfraBreaker.Delay(int.MaxValue, in policy));
        Assert.Equal(60 * s_second, InfraBreaker.Delay(64, in policy));
    }

    [Fact]
    [Trait("spec", "S-06")]
    public void S06_JitterPointTwoAndFixedSeed_DelaysWithinBoundsAndReproducible()
    {
        // arrange
        BreakerPolicy policy = Policy(jitter: 0.2);
        ulong seed = InfraBreaker.Seed(12345, "pc1/conn");
        var first = new InfraBreaker(0, seed);
        var second = new InfraBreaker(0, seed);
        var other = new InfraBreaker(0, InfraBreaker.Seed(12345, "pc1/other"));

        // act
        List<long> a = FailedDelays(ref first, in policy, 200);
        List<long> b = FailedDelays(ref second, in policy, 200);
        List<long> c = FailedDelays(ref other, in policy, 200);

        // assert
        for (int i = 0; i < a.Count; i++)
        {
            long d = InfraBreaker.Delay(i + 1, in policy);
            Assert.InRange(a[i], (long)(0.8 * d), Math.Min((long)(1.2 * d), 60 * s_second));
        }

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.True(a.Distinct().Count() > 100, "the jitter must actually vary the delays");
    }

    [Fact]
    public void Report_HealthyTrial_ClosesButKeepsAttemptsUntilStable()
    {
        // arrange
        BreakerPolicy policy = Policy();
        var breaker = new InfraBreaker(0, 1);
        long now = 100 * s_second;
        breaker.Report(false, now, in policy);

        // act
        Assert.True(breaker.BeginTick(now + s_second));
        BreakerEvent closed = breaker.Report(true, now + s_second, in policy);
        BreakerEvent early = breaker.Report(true, now + (30 * s_second), in policy);
        BreakerEvent ended = breaker.Report(true, now + (61 * s_second), in policy);

        // assert
        Assert.Equal(BreakerEvent.Closed, closed);
        Assert.Equal(BreakerEvent.None, early);
        Assert.Equal(BreakerEvent.EpisodeEnded, ended);
        Assert.Equal(0, breaker.Attempts);
    }

    [Fact]
    public void Report_FlapWithinStabilityWindow_ClimbsInsteadOfRestartingAtOneSecond()
    {
        // arrange: open, close at the trial, fail again 5 s later (§5.4).
        BreakerPolicy policy = Policy();
        var breaker = new InfraBreaker(0, 1);
        long now = 100 * s_second;
        breaker.Report(false, now, in policy);
        breaker.BeginTick(now + s_second);
        breaker.Report(true, now + s_second, in policy);

        // act
        BreakerEvent reopened = breaker.Report(false, now + (6 * s_second), in policy);

        // assert
        Assert.Equal(BreakerEvent.Opened, reopened);
        Assert.Equal(2, breaker.Attempts);
        Assert.Equal(2 * s_second, breaker.NextTrialAt - (now + (6 * s_second)));
    }

    [Fact]
    [Trait("spec", "S-27")]
    public void PanicWindow_ThirdPanicWithinWindow_Opens()
    {
        var window = new PanicWindow(3);
        long w = 300 * s_second;
        Assert.False(window.Record(0, w, PanicClass.Bug));
        Assert.False(window.Record(s_second, w, PanicClass.Transient));
        Assert.True(window.Record(2 * s_second, w, PanicClass.Bug));
        Assert.True(window.IsOpen);
        Assert.Equal("bug,transient,bug", window.Classes());
    }

    [Fact]
    [Trait("spec", "S-28")]
    public void PanicWindow_ThreePanicsSpanningMoreThanTheWindow_StaysClosed()
    {
        var window = new PanicWindow(3);
        long w = 300 * s_second;
        window.Record(0, w, PanicClass.Bug);
        window.Record(150 * s_second, w, PanicClass.Bug);
        Assert.False(window.Record(300 * s_second, w, PanicClass.Bug));
        Assert.False(window.IsOpen);
    }

    [Fact]
    [Trait("spec", "S-29")]
    public void PanicWindow_Open_ClosesAtNewestStampPlusWindow()
    {
        var window = new PanicWindow(3);
        long w = 300 * s_second;
        window.Record(0, w, PanicClass.Bug);
        window.Record(1, w, PanicClass.Bug);
        window.Record(2, w, PanicClass.Bug);
        Assert.False(window.TryClose(2 + w - 1, w));
        Assert.True(window.TryClose(2 + w, w));
        Assert.False(window.IsOpen);
    }
}
