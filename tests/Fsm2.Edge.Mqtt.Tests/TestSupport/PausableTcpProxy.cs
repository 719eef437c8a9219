using System.Net;
using System.Net.Sockets;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>
/// A loopback TCP proxy in front of a broker that can hold back each direction. Holding the broker-to-client direction
/// makes a probe's echo (and its PUBACK) late by construction, so misses are deterministic, without sleeps and with the
/// real broker still doing the round trip. Held bytes are delivered in order when the direction is resumed.
/// </summary>
public sealed class PausableTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _sockets = [];
    private int _disposed;
    private readonly Task _acceptLoop;

    private PausableTcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Client to broker.</summary>
    public Direction Upstream { get; } = new();

    /// <summary>Broker to client.</summary>
    public Direction Downstream { get; } = new();

    /// <summary>The port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Starts a proxy to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public static PausableTcpProxy Start(int targetPort) => new(targetPort);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        // Idempotent: a test cuts the connections by disposing, and its await-using disposes again.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (TcpClient socket in _sockets)
            {
                socket.Dispose();
            }
        }

        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var server = new TcpClient();
            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }

            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _ = PumpAsync(client, server, Upstream);
            _ = PumpAsync(server, client, Downstream);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, Direction direction)
    {
        byte[] buffer = new byte[16 * 1024];
        try
        {
            NetworkStream source = from.GetStream();
            NetworkStream target = to.GetStream();
            while (true)
            {
                int read = await source.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                direction.Count(read);
                await direction.WaitOpenAsync(_stop.Token);
                await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side closed or the proxy stops: close both, as a real connection would.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    /// <summary>One direction of every proxied connection.</summary>
    public sealed class Direction
    {
        private TaskCompletionSource _open = NewOpen();

        private long _bytesRead;

        /// <summary>Bytes read from the sender so far, held or forwarded.</summary>
        public long BytesRead => Interlocked.Read(ref _bytesRead);

        /// <summary>Holds every further chunk until <see cref="Resume"/>.</summary>
        public void Pause()
        {
            TaskCompletionSource current = Volatile.Read(ref _open);
            if (current.Task.IsCompleted)
            {
                Volatile.Write(ref _open, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }
        }

        /// <summary>Forwards what was held, in order, and everything after it.</summary>
        public void Resume() => Volatile.Read(ref _open).TrySetResult();

        internal void Count(int bytes) => Interlocked.Add(ref _bytesRead, bytes);

        internal Task WaitOpenAsync(CancellationToken cancellationToken) => Volatile.Read(ref _open).Task.WaitAsync(cancellationToken);

        private static TaskCompletionSource NewOpen()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }
}
