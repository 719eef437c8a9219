using System.Globalization;
using System.Net.Sockets;

namespace Fsm2.Edge.Health.Probes;

/// <summary>
/// The TCP connect probe (30-supervision §10.3): each run resolves and connects to <c>host:port</c> within
/// <see cref="Timeout"/>, then closes at once without sending data. Success carries the connect time as RTT (measured
/// by the scheduler); refused, unreachable, DNS failure and timeout are all <see cref="ProbeOutcome.Miss"/>, so the
/// verdict turns unhealthy after <see cref="MissThreshold"/> consecutive failures.
/// </summary>
/// <remarks>
/// The timeout runs on the injected <see cref="TimeProvider"/>, so a test with a fake clock decides when a hanging
/// connect times out. Runs never overlap (scheduler contract), so the probe holds no state between runs.
/// </remarks>
public sealed class TcpConnectProbe : IInfrastructureProbe
{
    private readonly TimeProvider _time;

    /// <summary>Creates the probe.</summary>
    /// <param name="id">The probe id, <c>[A-Za-z0-9_.-]{1,64}</c>.</param>
    /// <param name="host">Host name or address literal.</param>
    /// <param name="port">1 to 65535.</param>
    /// <param name="interval">Time between runs (positive).</param>
    /// <param name="timeout">Connect budget, DNS included (positive, below <paramref name="interval"/>).</param>
    /// <param name="missThreshold">Consecutive misses before the verdict turns unhealthy (at least 1).</param>
    /// <param name="time">The clock of the connect timeout; <see langword="null"/> takes <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ConfigException">A value is invalid; the message names the field.</exception>
    public TcpConnectProbe(string id, string host, int port, TimeSpan interval, TimeSpan timeout, int missThreshold = 3, TimeProvider? time = null)
    {
        if (!ProbeSpec.IsValidId(id))
        {
            throw new ConfigException($"probe id '{id}' must match [A-Za-z0-9_.-]{{1,64}}");
        }

        if (string.IsNullOrWhiteSpace(host))
        {
            throw new ConfigException($"probe '{id}': target host must not be empty");
        }

        if (port is < 1 or > 65_535)
        {
            throw new ConfigException($"probe '{id}': target port must be from 1 to 65535 (was {port})");
        }

        if (interval <= TimeSpan.Zero || timeout <= TimeSpan.Zero || timeout >= interval)
        {
            throw new ConfigException($"probe '{id}': timeout ({timeout}) must be positive and below the interval ({interval})");
        }

        if (missThreshold < 1)
        {
            throw new ConfigException($"probe '{id}': miss threshold must be at least 1 (was {missThreshold})");
        }

        Id = id;
        Host = host;
        Port = port;
        Interval = interval;
        Timeout = timeout;
        MissThreshold = missThreshold;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public string Id { get; }

    /// <inheritdoc/>
    public string ManualSteps => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"check that {Host}:{Port} accepts TCP connections from the gateway: nc -vz {Host} {Port}");

    /// <summary>The host to connect to.</summary>
    public string Host { get; }

    /// <summary>The port to connect to.</summary>
    public int Port { get; }

    /// <inheritdoc/>
    public TimeSpan Interval { get; }

    /// <inheritdoc/>
    public TimeSpan Timeout { get; }

    /// <inheritdoc/>
    public int MissThreshold { get; }

    /// <summary>Builds the probe from a resolved <see cref="ProbeSpec"/> (the built-in <c>tcp</c> factory).</summary>
    /// <param name="spec">The spec, with interval, timeout and threshold resolved.</param>
    /// <param name="time">The runtime clock.</param>
    /// <returns>The probe.</returns>
    /// <exception cref="ConfigException">The target is not <c>host:port</c>, or a value is invalid.</exception>
    public static TcpConnectProbe Create(ProbeSpec spec, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!TryParseTarget(spec.Target, out string host, out int port))
        {
            throw new ConfigException($"probe '{spec.Id}': target '{spec.Target}' is not host:port");
        }

        return new TcpConnectProbe(spec.Id, host, port, spec.Interval, spec.Timeout, spec.MissThreshold, time);
    }

    /// <summary>Parses <c>host:port</c>, or <c>[v6-literal]:port</c>.</summary>
    /// <param name="target">The target text.</param>
    /// <param name="host">The host part.</param>
    /// <param name="port">The port, 1 to 65535.</param>
    /// <returns><see langword="true"/> when the target is well formed.</returns>
    public static bool TryParseTarget(string? target, out string host, out int port)
    {
        host = "";
        port = 0;
        if (string.IsNullOrWhiteSpace(target))
        {
            return false;
        }

        int colon = target.LastIndexOf(':');
        if (colon <= 0 || colon == target.Length - 1)
        {
            return false;
        }

        string hostPart = target[..colon];
        if (hostPart.StartsWith('[') && hostPart.EndsWith(']'))
        {
            hostPart = hostPart[1..^1];
        }
        else if (hostPart.Contains(':', StringComparison.Ordinal))
        {
            // An unbracketed IPv6 literal is ambiguous with the port separator.
            return false;
        }

        if (hostPart.Length == 0 || !int.TryParse(target.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int parsed)
            || parsed is < 1 or > 65_535)
        {
            return false;
        }

        host = hostPart;
        port = parsed;
        return true;
    }

    /// <summary>Connects once and closes at once; never throws.</summary>
    /// <param name="cancellationToken">The scheduler's budget or stop token.</param>
    /// <returns><see cref="ProbeOutcome.Success"/>, or <see cref="ProbeOutcome.Miss"/> for any failure.</returns>
    public async ValueTask<ProbeOutcome> RunAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(Timeout, _time);
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var client = new TcpClient();
        try
        {
            await client.ConnectAsync(Host, Port, linked.Token).ConfigureAwait(false);
            return ProbeOutcome.Success;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // Refused, unreachable, DNS failure and timeout are all misses (§10.3).
            return ProbeOutcome.Miss;
        }
        finally
        {
            // Closes at once (FIN) without sending data.
            client.Dispose();
        }
    }
}
