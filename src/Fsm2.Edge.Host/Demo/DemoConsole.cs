using System.Text;

namespace Fsm2.Edge.Host.Demo;

/// <summary>
/// The demo's stdout: log lines and the status table. On a terminal the table stays at the bottom and is redrawn in
/// place (cursor up over the previous table, clear to the end of the screen, then the log lines that arrived meanwhile,
/// then the new table), so logs scroll above it. In plain mode (<c>--plain</c>, or stdout not a terminal) log lines go
/// straight through and each table is printed after them, without escape codes.
/// </summary>
/// <remarks>
/// Threading: loggers write from any thread and the table loop draws from its own; one lock orders them. On a terminal
/// a log line waits at most one redraw period (1 s) for the next table.
/// </remarks>
internal sealed class DemoConsole : TextWriter
{
    private const string Escape = "\u001b[";

    private readonly TextWriter _out;
    private readonly Lock _lock = new();

    // Owner: _lock.
    private readonly StringBuilder _partial = new();
    private readonly List<string> _pending = [];
    private int _tableLines;

    public DemoConsole(TextWriter output, bool terminal, int width = 0)
    {
        _out = output;
        Terminal = terminal;
        Width = width;
    }

    /// <summary>Whether the table is redrawn in place with escape codes.</summary>
    public bool Terminal { get; }

    /// <summary>On a terminal: its width; table lines are cut to it so a wrapped line cannot break the redraw. 0 = no cut.</summary>
    public int Width { get; }

    public override Encoding Encoding => _out.Encoding;

    public override void Write(char value)
    {
        lock (_lock)
        {
            if (value == '\n')
            {
                EmitLine(_partial.ToString());
                _partial.Clear();
            }
            else if (value != '\r')
            {
                _partial.Append(value);
            }
        }
    }

    public override void Write(string? value)
    {
        if (value is null)
        {
            return;
        }

        lock (_lock)
        {
            foreach (char c in value)
            {
                Write(c);
            }
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_lock)
        {
            Write(value);
            Write('\n');
        }
    }

    public override void Flush()
    {
        lock (_lock)
        {
            _out.Flush();
        }
    }

    /// <summary>Draws a table: in place on a terminal, appended in plain mode (followed by a blank line).</summary>
    public void DrawTable(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        lock (_lock)
        {
            var frame = new StringBuilder();
            if (Terminal)
            {
                if (_tableLines > 0)
                {
                    frame.Append(Escape).Append(_tableLines).Append('A').Append(Escape).Append('J');
                }

                foreach (string log in _pending)
                {
                    frame.Append(log).Append('\n');
                }

                _pending.Clear();
                foreach (string line in lines)
                {
                    frame.Append(Width > 0 && line.Length >= Width ? line[..(Width - 1)] : line).Append('\n');
                }

                _tableLines = lines.Count;
            }
            else
            {
                foreach (string line in lines)
                {
                    frame.Append(line).Append('\n');
                }

                frame.Append('\n');
            }

            _out.Write(frame.ToString());
            _out.Flush();
        }
    }

    /// <summary>Ends the in-place drawing: log lines still waiting are printed below the last table.</summary>
    public void Release()
    {
        lock (_lock)
        {
            foreach (string log in _pending)
            {
                _out.WriteLine(log);
            }

            _pending.Clear();
            _tableLines = 0;
            _out.Flush();
        }
    }

    // Caller holds _lock.
    private void EmitLine(string line)
    {
        if (Terminal && _tableLines > 0)
        {
            _pending.Add(line);
        }
        else
        {
            _out.WriteLine(line);
        }
    }
}
