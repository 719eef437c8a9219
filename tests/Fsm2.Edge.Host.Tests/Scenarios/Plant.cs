using System.Net;
using System.Net.Sockets;

namespace Fsm2.Edge.Host.Tests.Scenarios;

/// <summary>
/// The PLANT fixture of 60-scenarios §1.2: the complete example of 50-runtime-monitoring §3.7 with the simulator TCP
/// port and the broker port replaced by free ports. Prefix <c>fsm2/gw-press-hall</c>; ten nodes.
/// </summary>
internal static class Plant
{
    public const string Prefix = "fsm2/gw-press-hall";

    /// <summary>The UNS topic root of <c>pc-press-1</c> (UNS1).</summary>
    public const string Uns1 = "umh/v1/acme.plant-1.assembly.line-a.press-1/_historian/";

    /// <summary>The ten node paths.</summary>
    public static readonly string[] Nodes =
    [
        "devices", "devices/sim-press-1", "assembly", "assembly/pc-press-1", "assembly/pc-press-1/connection",
        "assembly/pc-press-1/source", "assembly/pc-press-1/sink", "assembly/pc-press-2", "assembly/pc-press-2/connection",
        "assembly/pc-press-2/source",
    ];

    /// <summary>A free loopback TCP port (60-scenarios §1.1: listen on 0, read, close).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>
    /// The PLANT text. <paramref name="runtimeExtra"/> is inserted as further <c>runtime:</c> lines (two-space indent);
    /// <paramref name="simulatorExtra"/> as further lines of <c>sim-press-1</c>'s config block (ten-space indent).
    /// </summary>
    public static string Text(int brokerPort, int devicePort, int devicePort2, string profile = "arm64-gateway",
        string runtimeExtra = "", string simulatorExtra = "", string interval = "1s", string metricsInterval = "10s") => $$$"""
        # plant.yaml — press hall gateway
        version: 1
        runtime:
          id: gw-press-hall
          profile: {{{profile}}}
          broker: embedded
          embedded_broker: { bind: 127.0.0.1, port: {{{brokerPort}}} }
          metrics_interval: {{{metricsInterval}}}
          location: { enterprise: acme, site: plant-1 }
        {{{runtimeExtra}}}
        global:
          uns_version: v1
          historian: { retention_days: 30 }

        workers:
          - type: group
            name: devices
            probes: [ { type: mqtt, id: broker-devices } ]
            children:
              - type: device-simulator
                name: sim-press-1
                variables: { device: press-1, device_port: {{{devicePort}}} }
                config: |
                  device: "{{ device }}"
                  interval: {{{interval}}}
                  tcp_listen: "127.0.0.1:{{ device_port }}"
                  tags:
                    - { name: temperature, kind: sine, min: 60, max: 80, period: 60s }
                    - { name: pressure, kind: random, min: 1.8, max: 2.4 }
                    - { name: setpoint, kind: constant, value: 70, writable: true }
        {{{simulatorExtra}}}
          - type: group
            name: assembly
            location: { area: assembly }
            variables: { IP: 127.0.0.1, PORT: {{{devicePort}}} }
            probes: [ { type: mqtt, id: broker-assembly } ]
            children:
              - type: protocol-converter
                name: pc-press-1
                location: { line: line-a, cell: press-1 }
                variables: { device: press-1 }
                config: |
                  host: "{{ IP }}"
                  port: {{ PORT }}
                  device_topic: "devices/{{ device }}/#"
                  qos: 1
                  sink: { enabled: true }
                templates:
                  uns_topic: "umh/{{ global.uns_version }}/{{ location_path }}/_historian/{{ tag }}"

              - type: protocol-converter
                name: pc-press-2
                state: stopped                        # declared and resident, not running
                location: { line: line-a, cell: press-2 }
                variables: { device: press-2, PORT: {{{devicePort2}}} }
                config: |
                  host: "{{ IP }}"
                  port: {{ PORT }}
                  device_topic: "devices/{{ device }}/#"

        """;
}
