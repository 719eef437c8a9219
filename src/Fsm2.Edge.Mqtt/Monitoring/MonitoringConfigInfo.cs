namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>The configuration facts the heartbeat's <c>config</c> object reports (shared/spec/50-runtime-monitoring.md
/// §4, §6.2); set by the host after each load or reload.</summary>
/// <param name="Generation">The applied config generation (from 1).</param>
/// <param name="Hash">The applied file's hash, for example <c>sha256:3f9a0c1e</c>.</param>
/// <param name="File">The config file name.</param>
/// <param name="RestartRequired">Whether a restart-only field changed on reload.</param>
/// <param name="RejectedHash">The hash of the last rejected file, or <see langword="null"/>.</param>
/// <param name="LastError">The last reload error, or <see langword="null"/>.</param>
public sealed record MonitoringConfigInfo(long Generation, string Hash, string File, bool RestartRequired = false,
    string? RejectedHash = null, string? LastError = null);
