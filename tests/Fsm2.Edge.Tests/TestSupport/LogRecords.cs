using Microsoft.Extensions.Logging.Testing;

namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>Reads the structured fields of captured log events (source-generated, so names match the templates).</summary>
public static class LogRecords
{
    /// <summary>The <c>Node</c> field of a record, or <see langword="null"/>.</summary>
    public static string? Node(this FakeLogRecord record) => record.GetStructuredStateValue("Node");

    /// <summary>Any structured field of a record, or <see langword="null"/>.</summary>
    public static string? Field(this FakeLogRecord record, string name) => record.GetStructuredStateValue(name);
}
