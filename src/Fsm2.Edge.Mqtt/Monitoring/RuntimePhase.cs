namespace Fsm2.Edge.Mqtt.Monitoring;

/// <summary>The <c>state</c> field of <c>{prefix}/runtime/state</c> (shared/spec/50-runtime-monitoring.md §6.2).</summary>
public enum RuntimePhase
{
    /// <summary>Connected, the tree not yet started (startup step 4).</summary>
    Starting,

    /// <summary>Running; repeated every heartbeat interval and after every reconnect.</summary>
    Online,

    /// <summary>Shutdown has begun.</summary>
    Stopping,

    /// <summary>Gone: the clean-shutdown marker, or the last will.</summary>
    Offline,
}
