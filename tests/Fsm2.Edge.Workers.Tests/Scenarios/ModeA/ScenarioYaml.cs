namespace Fsm2.Edge.Workers.Tests.Scenarios.ModeA;

/// <summary>The PLANT fixture (60-scenarios §1.3, 50-runtime-monitoring §3.7) and the YAML edits the mode-A scenarios share.</summary>
internal static class ScenarioYaml
{
    /// <summary>PLANT with the assembly group's children cut off (the converters arrive with a later reload).</summary>
    public static string WithoutConverters(string plant)
        => plant[..plant.IndexOf("      - type: protocol-converter", StringComparison.Ordinal)].TrimEnd() + " []\n";

    /// <summary>
    /// PLANT (50 §3.7) with the simulator TCP ports of <paramref name="options"/> and its variations. Options that are
    /// off render no line at all (a line that renders empty or blank is dropped), so the defaults give PLANT as written.
    /// </summary>
    public static string Plant(PlantOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string text = $$$"""
            version: 1
            runtime:
              id: gw-press-hall
              profile: arm64-gateway
              {{{(options.Overrides is null ? "" : "overrides: " + options.Overrides)}}}
              broker: {{{options.Broker}}}
              metrics_interval: {{{options.MetricsInterval}}}
              location: { enterprise: acme, site: plant-1 }
              {{{(options.Fleet is null ? "" : "fleet: { name: " + options.Fleet + " }")}}}
            global:
              uns_version: v1
              historian: { retention_days: 30 }
            workers:
              - type: group
                name: devices
                probes: [ { type: mqtt, id: broker-devices } ]
                children:
            {{{options.Devices ?? Simulator("sim-press-1", "press-1", options.DevicePort)}}}
            {{{options.ExtraDevices}}}
              - type: group
                name: assembly
                location: { area: assembly }
                variables: { IP: 127.0.0.1{{{(options.Pc1PortFromFleet ? "" : ", PORT: " + options.DevicePort)}}} }
                probes: [ { type: mqtt, id: broker-assembly } ]
                children:
                  - type: protocol-converter
                    name: pc-press-1
                    {{{(options.Pc1Stopped ? "state: stopped" : "")}}}
                    location: { line: line-a, cell: press-1 }
                    variables: { device: press-1 }
                    config: |
                      host: "{{ IP }}"
                      port: {{{(options.Pc1PortFromFleet ? "{{ global.plc_port }}" : "{{ PORT }}")}}}
                      device_topic: "devices/{{ device }}/#"
                      qos: 1
                      sink: { enabled: {{{(options.Pc1Sink ? "true" : "false")}}} }
                    templates:
                      uns_topic: "umh/{{ global.uns_version }}/{{ location_path }}/_historian/{{ tag }}"
                  - type: protocol-converter
                    name: {{{options.Pc2Name}}}
                    state: stopped
                    location: { line: line-a, cell: press-2 }
                    variables: { device: press-2, PORT: {{{options.DevicePort2}}} }
                    config: |
                      host: "{{ IP }}"
                      port: {{ PORT }}
                      device_topic: "devices/{{ device }}/#"
            """;
        return string.Join('\n', text.Split('\n').Where(line => !string.IsNullOrWhiteSpace(line)));
    }

    /// <summary>
    /// A <c>device-simulator</c> child of the devices group (six-space indent, no trailing newline) publishing every
    /// second on <c>devices/{device}/…</c> and listening on <paramref name="port"/>: PLANT's three tags, or with
    /// <paramref name="temperatureOnly"/> just the temperature sine.
    /// </summary>
    public static string Simulator(string name, string device, int port, bool temperatureOnly = false)
    {
        string tags = temperatureOnly ? "" : """

                        - { name: pressure, kind: random, min: 1.8, max: 2.4 }
                        - { name: setpoint, kind: constant, value: 70, writable: true }
            """;
        return $$$"""
                  - type: device-simulator
                    name: {{{name}}}
                    variables: { device: {{{device}}}, device_port: {{{port}}} }
                    config: |
                      device: "{{ device }}"
                      interval: 1s
                      tcp_listen: "127.0.0.1:{{ device_port }}"
                      tags:
                        - { name: temperature, kind: sine, min: 60, max: 80, period: 60s }
            """ + tags;
    }
}

/// <summary>
/// The variations of <see cref="ScenarioYaml.Plant"/>; every default renders PLANT as 50 §3.7 writes it (with the free
/// simulator ports <paramref name="DevicePort"/> of sim-press-1 / pc-press-1 and <paramref name="DevicePort2"/> of pc-press-2).
/// </summary>
internal sealed record PlantOptions(int DevicePort, int DevicePort2)
{
    /// <summary><c>runtime.broker</c>.</summary>
    public string Broker { get; init; } = "embedded";

    /// <summary><c>runtime.metrics_interval</c>.</summary>
    public string MetricsInterval { get; init; } = "10s";

    /// <summary><c>runtime.overrides</c> as a flow mapping, e.g. <c>{ supervision: { jitter: 0 } }</c>; null: none.</summary>
    public string? Overrides { get; init; }

    /// <summary><c>runtime.fleet.name</c> (fleet mode); null: not in fleet mode.</summary>
    public string? Fleet { get; init; }

    /// <summary>The devices group's children (see <see cref="ScenarioYaml.Simulator"/>); null: PLANT's sim-press-1.</summary>
    public string? Devices { get; init; }

    /// <summary>Further children of the devices group, after <see cref="Devices"/> (six-space indent).</summary>
    public string ExtraDevices { get; init; } = "";

    /// <summary>pc-press-1 declared with <c>state: stopped</c>.</summary>
    public bool Pc1Stopped { get; init; }

    /// <summary>pc-press-1's <c>sink.enabled</c>.</summary>
    public bool Pc1Sink { get; init; } = true;

    /// <summary>pc-press-1's port is <c>{{ global.plc_port }}</c> (a fleet variable) and the assembly group declares no <c>PORT</c>.</summary>
    public bool Pc1PortFromFleet { get; init; }

    /// <summary>The name of the stopped second converter.</summary>
    public string Pc2Name { get; init; } = "pc-press-2";
}
