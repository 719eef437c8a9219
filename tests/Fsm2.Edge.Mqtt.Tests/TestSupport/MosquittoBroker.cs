using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Fsm2.Edge.Mqtt.Tests.TestSupport;

/// <summary>
/// A real mosquitto broker (the Debian package) listening on a free loopback port, for integration tests.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Start"/> writes a temporary config (<c>listener PORT 127.0.0.1</c>, anonymous access, no persistence,
/// log to stderr), starts the broker and returns once a TCP connect to the port succeeds. The broker is stopped by
/// PID: SIGTERM, up to 3 s for it to exit, then SIGKILL. <see cref="Stop"/> and <see cref="Restart"/> let a test
/// take the broker away and bring it back on the same port.
/// </para>
/// <para>
/// When the binary is missing, a test outside CI is skipped with an install hint; under <c>CI=true</c> it fails,
/// because CI must never report a green run that silently skipped the broker tests (shared/spec/80-toolchain.md §3).
/// </para>
/// </remarks>
public sealed class MosquittoBroker : IDisposable
{
    /// <summary>The broker binary looked up on PATH (Debian installs it as /usr/sbin/mosquitto).</summary>
    public const string DefaultBinary = "mosquitto";

    /// <summary>The skip reason outside CI.</summary>
    public const string SkipReason = "mosquitto not installed: apt-get install mosquitto (or run .ci/install-deps)";

    // Measured on the 2-core CI machine class: mosquitto 2.0.11 listens 16-35 ms after it starts. The 10 s are
    // arbitrary; generous because CI shares those cores with a parallel build and test run.
    private static readonly TimeSpan s_defaultStartTimeout = TimeSpan.FromSeconds(10);

    // mosquitto exits about 0.1 s after SIGTERM here (shared/spec/80-toolchain.md §5 saw 1-2 s); after 3 s it
    // gets SIGKILL.
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(3);

    // Arbitrary: the pause between two connect attempts while the broker starts. The pause is a bounded wait
    // for the broker process to exit, so a broker that dies at start-up is reported at once.
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(20);

    // Arbitrary: how many fresh ports Start tries when the chosen one was taken between probing and binding.
    private const int PortAttempts = 3;

    private const int SigTerm = 15;

    private readonly string _binaryPath;
    private readonly string _directory;
    private readonly string _configPath;
    private readonly TimeSpan _startTimeout;
    private readonly Lock _logLock = new();
    private readonly StringBuilder _log = new();
    private Process? _process;

    private MosquittoBroker(string binaryPath, int port, TimeSpan startTimeout, string? acl)
    {
        _binaryPath = binaryPath;
        _startTimeout = startTimeout;
        Port = port;
        _directory = Directory.CreateTempSubdirectory("fsm2-mosquitto-").FullName;
        _configPath = Path.Combine(_directory, "mosquitto.conf");
        string config = $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n";
        if (acl is not null)
        {
            // As root, mosquitto drops to the 'mosquitto' user, which must still read the ACL file: the temporary
            // directory is created private (0700), so open it for reading.
            string aclPath = Path.Combine(_directory, "acl");
            File.WriteAllText(aclPath, acl);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                File.SetUnixFileMode(aclPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            config += $"acl_file {aclPath}\n";
        }

        File.WriteAllText(_configPath, config);
    }

    /// <summary>The loopback address the broker listens on.</summary>
    public static IPAddress Address => IPAddress.Loopback;

    /// <summary>The port the broker listens on; it stays the same across <see cref="Restart"/>.</summary>
    public int Port { get; }

    /// <summary>The broker's PID, or <see langword="null"/> after <see cref="Stop"/>.</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>Whether the broker process is alive.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Everything the broker wrote to stdout and stderr so far, across restarts.</summary>
    public string Log
    {
        get
        {
            lock (_logLock)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Whether this process runs under CI (<c>CI=true</c>), where a missing broker is a failure.</summary>
    public static bool IsCi =>
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Starts a broker on a free loopback port and waits until it accepts TCP connections.</summary>
    /// <param name="binary">A command name looked up on PATH and in the sbin directories, or a path.</param>
    /// <param name="isCi">Whether a missing binary fails rather than skips; <see cref="IsCi"/> when null.</param>
    /// <param name="startTimeout">How long to wait for the broker to listen.</param>
    /// <param name="acl">The content of a mosquitto ACL file to enforce (<c>acl_file</c>), or null for full access.</param>
    /// <exception cref="InvalidOperationException">The binary is missing under CI, or the broker did not start.</exception>
    /// <exception cref="TimeoutException">The broker did not listen within the timeout.</exception>
    /// <exception cref="Xunit.Sdk.SkipException">The binary is missing outside CI: the calling test is skipped.</exception>
    public static MosquittoBroker Start(string binary = DefaultBinary, bool? isCi = null, TimeSpan? startTimeout = null, string? acl = null)
    {
        string? binaryPath = ResolveBinary(binary);
        if (binaryPath is null)
        {
            if (isCi ?? IsCi)
            {
                throw new InvalidOperationException(
                    $"mosquitto not installed ('{binary}' not found) and CI=true, so the broker tests fail instead of "
                    + "skipping: .ci/install-deps installs it (apt-get install mosquitto).");
            }

            Assert.Skip(SkipReason);
        }

        for (int attempt = 1; ; attempt++)
        {
            var broker = new MosquittoBroker(binaryPath, FreeLoopbackPort(), startTimeout ?? s_defaultStartTimeout, acl);
            try
            {
                broker.Launch();
                return broker;
            }
            catch (InvalidOperationException) when (attempt < PortAttempts && broker.Log.Contains("Address already in use", StringComparison.Ordinal))
            {
                broker.Dispose();
            }
            catch
            {
                broker.Dispose();
                throw;
            }
        }
    }

    /// <summary>Stops the broker (SIGTERM, then SIGKILL after 3 s) and waits until its process is gone.</summary>
    public void Stop()
    {
        Process? process = _process;
        if (process is null)
        {
            return;
        }

        _process = null;
        try
        {
            if (!process.HasExited)
            {
                _ = NativeMethods.Kill(process.Id, SigTerm);
                if (!process.WaitForExit(s_stopGrace))
                {
                    process.Kill();
                }
            }

            // The parameterless overload also waits for the redirected output to drain into the log.
            process.WaitForExit();
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>Stops the broker if it runs, then starts it again on the same port and waits until it listens.</summary>
    /// <exception cref="InvalidOperationException">The broker exited during start-up (its log is in the message).</exception>
    /// <exception cref="TimeoutException">The broker did not listen within the start timeout.</exception>
    public void Restart()
    {
        Stop();
        Launch();
    }

    /// <summary>Stops the broker and deletes its temporary directory.</summary>
    public void Dispose()
    {
        Stop();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless; the broker itself is stopped.
        }
    }

    private void Launch()
    {
        var startInfo = new ProcessStartInfo(_binaryPath)
        {
            ArgumentList = { "-c", _configPath },
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => AppendLog(e.Data);
        process.ErrorDataReceived += (_, e) => AppendLog(e.Data);
        process.Start();
        _process = process;
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        long deadline = Environment.TickCount64 + (long)_startTimeout.TotalMilliseconds;
        while (!AcceptsConnections(Port))
        {
            if (process.WaitForExit(s_pollInterval))
            {
                int exitCode = process.ExitCode;
                Stop();
                throw new InvalidOperationException(
                    $"mosquitto exited with code {exitCode} before listening on 127.0.0.1:{Port}. Log:\n{Log}");
            }

            if (Environment.TickCount64 > deadline)
            {
                Stop();
                throw new TimeoutException($"mosquitto did not listen on 127.0.0.1:{Port} within {_startTimeout}. Log:\n{Log}");
            }
        }
    }

    private void AppendLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log.AppendLine(line);
        }
    }

    private static bool AcceptsConnections(int port)
    {
        using var client = new TcpClient();
        try
        {
            // A loopback connect is answered at once: accepted, or refused with a reset.
            client.Connect(Address, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static string? ResolveBinary(string binary)
    {
        if (binary.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(binary) ? Path.GetFullPath(binary) : null;
        }

        // Debian puts the broker in /usr/sbin, which a non-root PATH often lacks.
        IEnumerable<string> directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/local/sbin", "/sbin"]);
        foreach (string directory in directories)
        {
            string candidate = Path.Combine(directory, binary);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static class NativeMethods
    {
        // .NET offers no way to send SIGTERM (Process.Kill is SIGKILL), and mosquitto should get the chance to
        // shut down cleanly first.
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
