using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Observability;

/// <summary>Infrastructure-supervision events (30-supervision §5.6, §7, §9, §10): EventIds 6000–6999.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6001, EventName = "breaker_opened",
        Message = "breaker_opened node={Node} mode={Mode} attempt={Attempt} label={Label} causes={Causes} next_trial_ms={NextTrialMs} restarts={Restarts}")]
    public static partial void BreakerOpened(ILogger logger, LogLevel level, string node, string mode, int attempt, string label, string causes, double nextTrialMs, int restarts);

    [LoggerMessage(EventId = 6002, EventName = "breaker_trial_failed",
        Message = "breaker_trial_failed node={Node} mode={Mode} attempt={Attempt} label={Label} causes={Causes} next_trial_ms={NextTrialMs} restarts={Restarts}")]
    public static partial void BreakerTrialFailed(ILogger logger, LogLevel level, string node, string mode, int attempt, string label, string causes, double nextTrialMs, int restarts);

    // 50 §9.3: the ladder's two rare lines carry extra fields. They are the same events (same EventId and name, so
    // operators filter one event per transition), with their own templates.
#pragma warning disable SYSLIB1006, SYSLIB1025 // Same EventId and name on purpose: one event, extra fields on the pre-escalation and escalation lines.
    [LoggerMessage(EventId = 6001, EventName = "breaker_opened",
        Message = "breaker_opened node={Node} mode={Mode} attempt={Attempt} label={Label} causes={Causes} next_trial_ms={NextTrialMs} restarts={Restarts} attempts_until_escalation={AttemptsUntilEscalation}: one more failed trial escalates")]
    public static partial void BreakerOpenedPreEscalation(ILogger logger, LogLevel level, string node, string mode, int attempt, string label, string causes, double nextTrialMs, int restarts, int attemptsUntilEscalation);

    [LoggerMessage(EventId = 6002, EventName = "breaker_trial_failed",
        Message = "breaker_trial_failed node={Node} mode={Mode} attempt={Attempt} label={Label} causes={Causes} next_trial_ms={NextTrialMs} restarts={Restarts} attempts_until_escalation={AttemptsUntilEscalation}: one more failed trial escalates")]
    public static partial void BreakerTrialFailedPreEscalation(ILogger logger, LogLevel level, string node, string mode, int attempt, string label, string causes, double nextTrialMs, int restarts, int attemptsUntilEscalation);

    [LoggerMessage(EventId = 6001, EventName = "breaker_opened",
        Message = "breaker_opened node={Node} mode={Mode} attempt={Attempt} label={Label} causes={Causes} next_trial_ms={NextTrialMs} restarts={Restarts} runbook={Runbook} manual_steps={ManualSteps}")]
    public static partial void BreakerOpenedEscalation(ILogger logger, LogLevel level, string node, string mode, int attempt, string label, string causes, double nextTrialMs, int restarts, string runbook, string manualSteps);

    [LoggerMessage(EventId = 6002, EventName = "breaker_trial_failed",
        Message = "breaker_trial_failed node={Node} mode={Mode} attempt={Attempt} label={Label} causes={Causes} next_trial_ms={NextTrialMs} restarts={Restarts} runbook={Runbook} manual_steps={ManualSteps}")]
    public static partial void BreakerTrialFailedEscalation(ILogger logger, LogLevel level, string node, string mode, int attempt, string label, string causes, double nextTrialMs, int restarts, string runbook, string manualSteps);
#pragma warning restore SYSLIB1006, SYSLIB1025

    [LoggerMessage(6003, LogLevel.Information, "breaker_closed node={Node} open_ms={OpenMs} attempts={Attempts}", EventName = "breaker_closed")]
    public static partial void BreakerClosed(ILogger logger, string node, double openMs, int attempts);

    [LoggerMessage(6004, LogLevel.Debug, "breaker_episode_ended node={Node} attempts={Attempts}", EventName = "breaker_episode_ended")]
    public static partial void BreakerEpisodeEnded(ILogger logger, string node, int attempts);

    [LoggerMessage(6005, LogLevel.Warning, "child_restarted node={Node} reason={Reason} parent_attempt={Attempt} restarts={Restarts}", EventName = "child_restarted")]
    public static partial void ChildRestarted(ILogger logger, string node, string reason, int attempt, int restarts);

    [LoggerMessage(6006, LogLevel.Debug, "child_restart_deferred node={Node} dead_for_ms={DeadForMs}: still walking its shutdown states", EventName = "child_restart_deferred")]
    public static partial void ChildRestartDeferred(ILogger logger, string node, double deadForMs);

    [LoggerMessage(6007, LogLevel.Error, "panic_breaker_opened node={Node} count={Count} classes={Classes}", EventName = "panic_breaker_opened")]
    public static partial void PanicBreakerOpened(ILogger logger, string node, int count, string classes);

    [LoggerMessage(6008, LogLevel.Information, "panic_breaker_closed node={Node}", EventName = "panic_breaker_closed")]
    public static partial void PanicBreakerClosed(ILogger logger, string node);

    [LoggerMessage(6009, LogLevel.Warning, "probe_fault node={Node} probe={Probe} class={Class} exception={Message}: counted as a miss", EventName = "probe_fault")]
    public static partial void ProbeFault(ILogger logger, string node, string probe, string @class, string message, Exception exception);

    [LoggerMessage(6010, LogLevel.Error, "probe_invalid node={Node} probe={Probe} message={Message}", EventName = "probe_invalid")]
    public static partial void ProbeInvalid(ILogger logger, string node, string probe, string message);

    [LoggerMessage(6011, LogLevel.Warning, "options_warning message={Message}", EventName = "options_warning")]
    public static partial void OptionsWarning(ILogger logger, string message);

    [LoggerMessage(6012, LogLevel.Debug, "probe_attached node={Node} probe={Probe} type={Type} target={Target}", EventName = "probe_attached")]
    public static partial void ProbeAttached(ILogger logger, string node, string probe, string type, string target);
}
