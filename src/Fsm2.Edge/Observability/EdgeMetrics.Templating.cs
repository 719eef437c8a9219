using System.Diagnostics.Metrics;
using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Observability;

internal sealed partial class EdgeMetrics
{
    // Set once by the runtime's constructor; read by the cache gauge callback on any thread.
    private LiquidRenderer? _renderer;

    public Counter<long> TemplateRenders { get; }

    public Histogram<double> TemplateRenderDuration { get; }

    public ObservableGauge<int> TemplateCacheEntries { get; }

    public Counter<long> GlobalUpdates { get; }

    /// <summary>Runtime constructor: the source of the template cache gauge.</summary>
    public void AttachRenderer(LiquidRenderer renderer) => Volatile.Write(ref _renderer, renderer);

    /// <summary>Tick thread: one config render of a node of <paramref name="workerType"/>, and its duration.</summary>
    public void RecordRender(string workerType, string result, TimeSpan duration)
    {
        var type = new KeyValuePair<string, object?>("worker_type", workerType);
        TemplateRenders.Add(1, type, new KeyValuePair<string, object?>("result", result));
        TemplateRenderDuration.Record(duration.TotalSeconds, type);
    }

    /// <summary>One Global update: <paramref name="source"/> <c>file</c> or <c>mqtt</c>, <paramref name="result"/> <c>applied</c> or <c>rejected</c>.</summary>
    public void RecordGlobalUpdate(string source, string result)
        => GlobalUpdates.Add(1, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("result", result));
}
