using System.Net;
using System.Net.Sockets;
using Fsm2.Edge.Health;
using Fsm2.Edge.Health.Probes;
using Fsm2.Edge.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Tests.Health;

/// <summary>The TCP connect probe against real loopback sockets (30-supervision §10.3, S-40).</summary>
public sealed class TcpConnectProbeTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(1);

    [Fact]
    [Trait("spec", "S-40")]
    public async Task S40_ListeningPort_SuccessAndClosesWithoutSendingData()
    {
        // arrange
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var probe = new TcpConnectProbe("tcp-ok", "127.0.0.1", port, s_interval, s_timeout);

        // act
        ProbeOutcome outcome = await probe.RunAsync(CancellationToken.None);
        using Socket accepted = await Wait.For(listener.AcceptSocketAsync(), "the probe's connection");
        var buffer = new byte[16];
        int read = await Wait.For(accepted.ReceiveAsync(buffer, SocketFlags.None), "the probe's close");

        // assert: connected, then closed (end of stream) without a byte sent.
        Assert.Equal(ProbeOutcome.Success, outcome);
        Assert.Equal(0, read);
        ProbeVerdict verdict = ProbeVerdict.Next(null, outcome, probe.MissThreshold, TimeSpan.FromMilliseconds(1), 1);
        Assert.True(verdict.Healthy);
    }

    [Fact]
    [Trait("spec", "S-40")]
    public async Task S40_RefusedPortThreeRunsInARow_Unhealthy()
    {
        // arrange: a port that was just free, with nothing listening.
        int port;
        using (var probeForPort = new TcpListener(IPAddress.Loopback, 0))
        {
            probeForPort.Start();
            port = ((IPEndPoint)probeForPort.LocalEndpoint).Port;
            probeForPort.Stop();
        }

        var probe = new TcpConnectProbe("tcp-refused", "127.0.0.1", port, s_interval, s_timeout);
        ProbeVerdict? verdict = null;
        var healthyAfter = new List<bool>();

        // act
        for (int i = 0; i < 3; i++)
        {
            ProbeOutcome outcome = await probe.RunAsync(CancellationToken.None);
            Assert.Equal(ProbeOutcome.Miss, outcome);
            verdict = ProbeVerdict.Next(verdict, outcome, probe.MissThreshold, TimeSpan.Zero, i);
            healthyAfter.Add(verdict.Healthy);
        }

        // assert
        Assert.Equal([true, true, false], healthyAfter);
        Assert.Equal(3, verdict!.ConsecutiveMisses);
    }

    [Fact]
    [Trait("spec", "S-40")]
    public async Task S40_ConnectTimesOutAfterOneFakeSecond_MissWithoutWaitingARealSecond()
    {
        // arrange: a listener that never accepts, with its accept queue filled, so the next SYN gets no answer and the
        // connect hangs; the timeout runs on a fake clock.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(backlog: 1);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var fillers = new List<TcpClient>();
        Task<ProbeOutcome>? run = null;
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var probe = new TcpConnectProbe("tcp-timeout", "127.0.0.1", port, s_interval, s_timeout, time: time);
        try
        {
            for (int i = 0; i < 8 && run is null; i++)
            {
                var filler = new TcpClient();
                fillers.Add(filler);
                Task connect = filler.ConnectAsync(IPAddress.Loopback, port);
                if (await Task.WhenAny(connect, Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System)) != connect)
                {
                    // This connect hangs (no answer within 1 s of real time, where loopback answers in microseconds even
                    // on a loaded machine): the queue is full. The probe's connect will hang the same way.
                    run = probe.RunAsync(CancellationToken.None).AsTask();
                }
            }

            Assert.NotNull(run);
            Assert.False(run.IsCompleted);

            // act
            time.Advance(s_timeout);
            ProbeOutcome outcome = await Wait.For(run, "the probe to time out on the fake clock");

            // assert
            Assert.Equal(ProbeOutcome.Miss, outcome);
        }
        finally
        {
            foreach (TcpClient filler in fillers)
            {
                filler.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("plc.local:502", "plc.local", 502)]
    [InlineData("[::1]:1883", "::1", 1883)]
    [InlineData("10.0.0.1:65535", "10.0.0.1", 65535)]
    public void TryParseTarget_WellFormed_HostAndPort(string target, string host, int port)
    {
        Assert.True(TcpConnectProbe.TryParseTarget(target, out string h, out int p));
        Assert.Equal(host, h);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("")]
    [InlineData("plc.local")]
    [InlineData("plc.local:0")]
    [InlineData("plc.local:70000")]
    [InlineData("::1:1883")]
    [InlineData(":502")]
    public void Create_InvalidTarget_ConfigExceptionNamingTheProbe(string target)
    {
        var error = Assert.Throws<ConfigException>(() => TcpConnectProbe.Create(new ProbeSpec("tcp", "p1", target, s_interval, s_timeout, 3), TimeProvider.System));
        Assert.Contains("probe 'p1'", error.Message, StringComparison.Ordinal);
    }
}
