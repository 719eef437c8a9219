using System.Diagnostics.Metrics;

namespace Fsm2.Edge.Observability;

internal sealed partial class EdgeMetrics
{
    // Written by the config watcher (any thread) with a volatile write; read by the gauge callback.
    private long _configGeneration;

    /// <summary><c>fsm2_config_reload_total{result=applied|rejected|unchanged}</c> (50-runtime-monitoring §8.2).</summary>
    public Counter<long> ConfigReloads { get; private set; } = null!; // set in the constructor.

    /// <summary><c>fsm2_config_generation</c>: the applied config generation (0 before the first).</summary>
    public ObservableGauge<long> ConfigGeneration { get; private set; } = null!; // set in the constructor.

    /// <summary>The applied generation the gauge reports.</summary>
    public long ConfigGenerationValue => Volatile.Read(ref _configGeneration);

    /// <summary>Config watcher: a new generation was applied.</summary>
    public void SetConfigGeneration(long generation) => Volatile.Write(ref _configGeneration, generation);

    private void CreateConfigInstruments()
    {
        ConfigReloads = _meter.CreateCounter<long>("fsm2_config_reload_total", description: "Config reloads by result (applied, rejected, unchanged).");
        ConfigGeneration = _meter.CreateObservableGauge("fsm2_config_generation", () => Volatile.Read(ref _configGeneration), description: "Applied config generation.");
    }
}
