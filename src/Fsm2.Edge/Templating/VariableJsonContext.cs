using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Fsm2.Edge.Templating;

/// <summary>Source-generated JSON metadata (AOT): only the <see cref="JsonNode"/> → element conversion needs it.</summary>
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class VariableJsonContext : JsonSerializerContext;
