using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fsm2.Edge.Host.Demo;

/// <summary>
/// The demo's built-in configuration (50-runtime-monitoring §2.3): plain §3 YAML, so <c>--print-config</c> output is a
/// valid <c>run --config</c> file. Location acme / plant-1; a <c>devices</c> group of N device simulators, each
/// listening on a TCP port so its converter's connection has something to probe; an <c>assembly</c> group (area
/// <c>assembly</c>) of N protocol converters, one per device, each in its own cell, whose source flows republish to
/// <c>umh/v1/{{ location_path }}/_historian/{{ tag }}</c>. Each group declares an MQTT probe on the runtime's broker.
/// </summary>
internal static class DemoConfig
{
    /// <summary>The simulators' first TCP port (§2.3): 15021, then one up per device.</summary>
    public const int FirstDevicePort = 15021;

    /// <summary>The runtime id of the demo; its topics live under <c>fsm2/demo</c>.</summary>
    public const string RuntimeId = "demo";

    /// <summary>The name findings and logs give the built-in config (there is no file).</summary>
    public const string FileName = "demo.yaml";

    /// <summary>The device name of simulator <paramref name="index"/> (1-based): <c>press-1</c>, <c>press-2</c>, …</summary>
    public static string Device(int index) => "press-" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The ports of one demo run: with <paramref name="port"/> 0 the broker takes a free port itself and each simulator
    /// gets a port that was free a moment ago (a loopback listener on port 0, closed at once; another process could take
    /// it in between, which the connection worker would then report as unreachable); otherwise the broker takes
    /// <paramref name="port"/> and the simulators 15021 upwards.
    /// </summary>
    public static (int BrokerPort, int[] DevicePorts) Ports(int port, int devices)
    {
        var devicePorts = new int[devices];
        for (int i = 0; i < devices; i++)
        {
            devicePorts[i] = port == 0 ? FreeLoopbackPort() : FirstDevicePort + i;
        }

        return (port, devicePorts);
    }

    /// <summary>Builds the YAML for a broker port and one simulator port per device.</summary>
    public static string Build(int brokerPort, IReadOnlyList<int> devicePorts)
    {
        ArgumentNullException.ThrowIfNull(devicePorts);
        var yaml = new StringBuilder(1024 + (devicePorts.Count * 900));
        yaml.Append(CultureInfo.InvariantCulture, $$$"""
            # fsm2-edge demo: the built-in configuration ('fsm2-edge demo --print-config' prints it; it is a valid
            # 'fsm2-edge run --config' file). {{{devicePorts.Count}}} simulated presses publish on devices/press-N/<tag>;
            # one protocol converter per press probes the press's TCP port and republishes its tags to the UNS.
            version: 1
            runtime:
              id: {{{RuntimeId}}}
              broker: embedded
              embedded_broker: { bind: 127.0.0.1, port: {{{brokerPort}}} }
              metrics_interval: 5s
              heartbeat_interval: 5s
              location: { enterprise: acme, site: plant-1 }

            global:
              uns_version: v1

            workers:
              - type: group
                name: devices
                probes: [ { type: mqtt, id: broker-devices } ]
                children:

            """);
        for (int i = 0; i < devicePorts.Count; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $$$"""
                      - type: device-simulator
                        name: sim-{{{Device(i + 1)}}}
                        variables: { device: {{{Device(i + 1)}}}, device_port: {{{devicePorts[i]}}} }
                        config: |
                          device: "{{ device }}"
                          interval: 1s
                          tcp_listen: "127.0.0.1:{{ device_port }}"
                          tags:
                            - { name: temperature, kind: sine, min: 60, max: 80, period: 60s }
                            - { name: pressure, kind: random, min: 1.8, max: 2.4 }
                            - { name: setpoint, kind: constant, value: 70, writable: true }

                """);
        }

        yaml.Append("""

              - type: group
                name: assembly
                location: { area: assembly }
                variables: { IP: 127.0.0.1 }
                probes: [ { type: mqtt, id: broker-assembly } ]
                children:

            """);
        for (int i = 0; i < devicePorts.Count; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $$$"""
                      - type: protocol-converter
                        name: pc-{{{Device(i + 1)}}}
                        location: { cell: {{{Device(i + 1)}}} }
                        variables: { device: {{{Device(i + 1)}}}, PORT: {{{devicePorts[i]}}} }
                        config: |
                          host: "{{ IP }}"
                          port: {{ PORT }}
                          device_topic: "devices/{{ device }}/#"
                          qos: 1
                        templates:
                          uns_topic: "umh/{{ global.uns_version }}/{{ location_path }}/_historian/{{ tag }}"

                """);
        }

        return yaml.ToString();
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port; // Bound above, so LocalEndPoint is set.
    }
}
