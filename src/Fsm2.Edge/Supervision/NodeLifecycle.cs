namespace Fsm2.Edge.Supervision;

/// <summary>Lifecycle of a node in its parent.</summary>
public enum NodeLifecycle
{
    /// <summary>Declared and visible.</summary>
    Active,

    /// <summary>Being removed gracefully.</summary>
    Removing,

    /// <summary>Gone: collector stopped, record deleted.</summary>
    Finalized,
}
