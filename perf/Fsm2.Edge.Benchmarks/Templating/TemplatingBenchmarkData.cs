using Fsm2.Edge.Templating;

namespace Fsm2.Edge.Benchmarks.Templating;

/// <summary>The typical child config of 20-templating §6: ~390 characters, YAML-shaped, 10 User variables.</summary>
internal static class TemplatingBenchmarkData
{
    public const string TypicalConfig = """
        input:
          modbus:
            address: "{{ IP }}:{{ PORT }}"
            slave_id: {{ SLAVE_ID }}
            timeout: {{ TIMEOUT_MS }}ms
            registers: "{{ REGISTERS }}"
        pipeline:
          processors:
            - tag: "{{ TAG_PREFIX }}_{{ name }}"
              interval: {{ INTERVAL }}
        output:
          mqtt:
            urls: ["tcp://{{ global.broker }}:1883"]
            topic: "umh/v1/{{ location_path }}/_historian/{{ name }}"
            client_id: "{{ internal.id }}-{{ DEVICE }}"
        """;

    public static Dictionary<string, object?> User(string name = "s-1") => new()
    {
        ["IP"] = "192.168.1.100", ["PORT"] = 502, ["SLAVE_ID"] = 1, ["TIMEOUT_MS"] = 500, ["REGISTERS"] = "40001-40010",
        ["TAG_PREFIX"] = "press", ["name"] = name, ["INTERVAL"] = "1s", ["DEVICE"] = "plc-01", ["unused"] = true,
    };

    public static RenderScope Scope() => RenderScope.Create(
        User(),
        new Dictionary<string, object?> { ["broker"] = "broker.local" },
        new Dictionary<string, object?> { ["id"] = "pc1/conn", ["parent_id"] = "pc1", ["created_at"] = DateTimeOffset.UnixEpoch },
        new IsaLocation("ACME", "Factory-1", Line: "Line-A"));
}
