using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Fsm2.Edge.Tests.TestSupport;
using Xunit.Sdk;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>
/// Proves the mosquitto fixture against the real broker. The MQTT handshake is spoken by hand over a TcpClient
/// (MQTT 3.1.1 CONNECT and CONNACK), so the fixture is proven independently of the MQTT library under test.
/// </summary>
public sealed class MosquittoBrokerTests
{
    private const string MissingBinary = "/nonexistent/fsm2-edge-tests/mosquitto";

    [Fact]
    public async Task Start_RealBroker_AcceptsMqttConnect()
    {
        // arrange
        using MosquittoBroker broker = MosquittoBroker.Start();

        // act
        byte returnCode = await ConnectAsync(broker.Port, "fsm2-fixture-start");

        // assert
        Assert.True(broker.IsRunning);
        Assert.Equal(0, returnCode);
    }

    [Fact]
    public async Task StopThenRestart_SamePort_RefusesWhileStoppedThenAcceptsAgain()
    {
        // arrange
        using MosquittoBroker broker = MosquittoBroker.Start();
        int port = broker.Port;
        Assert.Equal(0, await ConnectAsync(port, "fsm2-fixture-before-stop"));

        // act
        broker.Stop();

        // assert
        Assert.False(broker.IsRunning);
        SocketException refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(port, "fsm2-fixture-stopped"));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        // act
        broker.Restart();

        // assert
        Assert.Equal(port, broker.Port);
        Assert.Equal(0, await ConnectAsync(port, "fsm2-fixture-after-restart"));
    }

    [Fact]
    public void Dispose_RunningBroker_BrokerProcessIsGone()
    {
        // arrange
        MosquittoBroker broker = MosquittoBroker.Start();
        int pid = broker.ProcessId ?? throw new InvalidOperationException("a started broker has a PID");

        // act
        broker.Dispose();

        // assert
        Assert.False(broker.IsRunning);
        Assert.False(IsAlive(pid), $"mosquitto PID {pid} still runs after Dispose");
    }

    [Fact]
    [Trait("spec", "TC-07")]
    public void TC07_MissingMosquittoUnderCi_Fails()
    {
        // act
        Exception? thrown = StartAndCatch(MissingBinary, isCi: true);

        // assert: a failure, not a skip, and it says how to install the broker.
        Assert.NotNull(thrown);
        Assert.IsNotType<SkipException>(thrown);
        Assert.IsType<InvalidOperationException>(thrown);
        Assert.Contains(".ci/install-deps", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_MissingMosquittoOutsideCi_Skips()
    {
        // act
        Exception? thrown = StartAndCatch(MissingBinary, isCi: false);

        // assert
        SkipException skipped = Assert.IsType<SkipException>(thrown);
        Assert.Contains("apt-get install mosquitto", skipped.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Starts a broker and returns what it threw. A plain catch, because xunit's Record.Exception and
    /// Assert.Throws let a SkipException escape, which would turn a wrong skip into a skipped test instead of
    /// a failed one.
    /// </summary>
    private static Exception? StartAndCatch(string binary, bool isCi)
    {
        try
        {
            MosquittoBroker.Start(binary, isCi).Dispose();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    /// <summary>Sends an MQTT 3.1.1 CONNECT and returns the CONNACK return code (0 = accepted).</summary>
    private static async Task<byte> ConnectAsync(int port, string clientId)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Wait.DefaultTimeout);
        using var client = new TcpClient();
        await client.ConnectAsync(MosquittoBroker.Address, port, timeout.Token);
        NetworkStream stream = client.GetStream();

        await stream.WriteAsync(BuildConnect(clientId), timeout.Token);
        byte[] connack = new byte[4];
        await stream.ReadExactlyAsync(connack, timeout.Token);

        Assert.Equal(0x20, connack[0]); // CONNACK
        Assert.Equal(0x02, connack[1]); // remaining length
        Assert.Equal(0x00, connack[2]); // session present: no (clean session)

        await stream.WriteAsync(new byte[] { 0xE0, 0x00 }, timeout.Token); // DISCONNECT
        return connack[3];
    }

    private static byte[] BuildConnect(string clientId)
    {
        byte[] id = Encoding.ASCII.GetBytes(clientId);
        byte[] variableHeader =
        [
            0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', // protocol name
            0x04,                                                   // protocol level: 3.1.1
            0x02,                                                   // connect flags: clean session
            0x00, 0x3C,                                             // keep alive: 60 s
        ];
        int remainingLength = variableHeader.Length + 2 + id.Length;

        // One length byte encodes up to 127; the client ids used here are far shorter.
        Assert.InRange(remainingLength, 0, 127);
        var packet = new List<byte>(2 + remainingLength) { 0x10, (byte)remainingLength };
        packet.AddRange(variableHeader);
        packet.Add(0x00);
        packet.Add((byte)id.Length);
        packet.AddRange(id);
        return [.. packet];
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
