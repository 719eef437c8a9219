using System.Diagnostics;
using System.Globalization;

namespace Fsm2.Edge.Config;

/// <summary>How serious a <see cref="ConfigFinding"/> is: any error rejects the file; warnings never do.</summary>
public enum FindingSeverity
{
    /// <summary>The file is rejected (exit code 2, or the hot reload is rejected).</summary>
    Error,

    /// <summary>Reported; the file is still accepted.</summary>
    Warning,
}

/// <summary>
/// One validation finding (50-runtime-monitoring §3.8), printed as
/// <c>FILE:LINE:COLUMN: error|warning FSM2CFGnnn: FIELD_PATH: message</c>.
/// </summary>
/// <param name="File">The file the finding is about, as the user named it.</param>
/// <param name="Line">1-based line; 0 when the finding has no position (a profile named on the command line).</param>
/// <param name="Column">1-based column; 0 when unknown.</param>
/// <param name="Severity">Error or warning.</param>
/// <param name="Code">The number of the <c>FSM2CFGnnn</c> code (see <see cref="ConfigCodes"/>).</param>
/// <param name="Path">
/// The field path, with entry names where available (<c>workers[assembly].children[pc-press-1].config</c>) and the
/// 1-based position otherwise (<c>workers[#3].type</c>); for hardware-profile fields a JSON path (<c>$.tick.interval_ms</c>).
/// </param>
/// <param name="Message">What is wrong, in the user's terms.</param>
[DebuggerDisplay("{ToString(),nq}")]
public sealed record ConfigFinding(string File, int Line, int Column, FindingSeverity Severity, int Code, string Path, string Message)
{
    /// <summary>The code as printed: <c>FSM2CFG004</c>.</summary>
    public string CodeText => "FSM2CFG" + Code.ToString("000", CultureInfo.InvariantCulture);

    /// <summary>Whether this finding rejects the file.</summary>
    public bool IsError => Severity == FindingSeverity.Error;

    /// <summary>The one-line form <c>FILE:LINE:COLUMN: error FSM2CFGnnn: PATH: message</c>.</summary>
    /// <returns>The formatted finding; the position is left out when it is unknown.</returns>
    public override string ToString()
    {
        string severity = Severity == FindingSeverity.Error ? "error" : "warning";
        string position = Line > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}:{Math.Max(Column, 1)}")
            : File;
        string path = Path.Length == 0 ? "" : Path + ": ";
        return $"{position}: {severity} {CodeText}: {path}{Message}";
    }

    /// <summary>Orders findings by file, line, column, then code (the order <c>validate</c> prints them in).</summary>
    /// <param name="findings">The findings to sort.</param>
    /// <returns>A new sorted list.</returns>
    public static IReadOnlyList<ConfigFinding> Sort(IEnumerable<ConfigFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var list = new List<ConfigFinding>(findings);
        list.Sort(static (a, b) =>
        {
            int c = a.Line.CompareTo(b.Line);
            if (c == 0)
            {
                c = a.Column.CompareTo(b.Column);
            }

            return c != 0 ? c : a.Code.CompareTo(b.Code);
        });
        return list;
    }
}
