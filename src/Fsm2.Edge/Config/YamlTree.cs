using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Fsm2.Edge.Config;

/// <summary>A parsed YAML node with its start mark (1-based line and column).</summary>
internal abstract class YNode
{
    protected YNode(int line, int column)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }

    public abstract string Kind { get; }
}

/// <summary>A scalar, resolved with the YAML 1.2 core schema (50-runtime-monitoring §3.1).</summary>
[DebuggerDisplay("{Text} @{Line}:{Column}")]
internal sealed partial class YScalar : YNode
{
    public YScalar(string text, ScalarStyle style, int line, int column)
        : base(line, column)
    {
        Text = text;
        Style = style;
        Value = Resolve(text, style);
    }

    public string Text { get; }

    public ScalarStyle Style { get; }

    /// <summary>The resolved value: <see langword="null"/>, <see cref="bool"/>, <see cref="long"/>, <see cref="double"/> or <see cref="string"/>.</summary>
    public object? Value { get; }

    /// <summary>Block scalars (<c>|</c>, <c>&gt;</c>) start their content on the line after the indicator.</summary>
    public bool IsBlock => Style is ScalarStyle.Literal or ScalarStyle.Folded;

    public override string Kind => Value switch
    {
        null => "null",
        bool => "boolean",
        long => "integer",
        double => "number",
        _ => "string",
    };

    public string Describe() => Value is string s ? $"string '{s}'" : $"{Kind} '{Text}'";

    private static object? Resolve(string text, ScalarStyle style)
    {
        if (style != ScalarStyle.Plain)
        {
            return text;
        }

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                return double.PositiveInfinity;
            case "-.inf" or "-.Inf" or "-.INF":
                return double.NegativeInfinity;
            case ".nan" or ".NaN" or ".NAN":
                return double.NaN;
        }

        if (IntPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer))
        {
            return integer;
        }

        if (text.StartsWith("0x", StringComparison.Ordinal) && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long hex))
        {
            return hex;
        }

        if (OctPattern().IsMatch(text))
        {
            return Convert.ToInt64(text[2..], 8);
        }

        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number))
        {
            return number;
        }

        return text;
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntPattern();

    [GeneratedRegex("^0o[0-7]+$")]
    private static partial Regex OctPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}

/// <summary>A mapping; keys are scalars, in document order, unique (duplicates are reported while reading).</summary>
internal sealed class YMap : YNode
{
    public YMap(int line, int column)
        : base(line, column)
    {
    }

    public List<KeyValuePair<YScalar, YNode>> Entries { get; } = [];

    public override string Kind => "mapping";

    public YNode? this[string key]
    {
        get
        {
            foreach (KeyValuePair<YScalar, YNode> entry in Entries)
            {
                if (entry.Key.Text == key)
                {
                    return entry.Value;
                }
            }

            return null;
        }
    }

    public YScalar? KeyOf(string key)
    {
        foreach (KeyValuePair<YScalar, YNode> entry in Entries)
        {
            if (entry.Key.Text == key)
            {
                return entry.Key;
            }
        }

        return null;
    }
}

/// <summary>A sequence.</summary>
internal sealed class YSeq : YNode
{
    public YSeq(int line, int column)
        : base(line, column)
    {
    }

    public List<YNode> Items { get; } = [];

    public override string Kind => "list";
}

/// <summary>
/// Builds the node tree from YamlDotNet's event parser (the representation layer, AOT-safe; the reflection deserializer
/// is neither AOT-safe nor line-preserving). Aliases resolve to their anchored node; merge keys (<c>&lt;&lt;</c>),
/// duplicate keys, non-scalar keys and multi-document files are reported as findings.
/// </summary>
internal static partial class YamlTreeReader
{
    public delegate void Report(int line, int column, int code, string path, string message);

    /// <summary>Parses <paramref name="text"/>; returns <see langword="null"/> after a syntax error (reported).</summary>
    public static YNode? Read(string text, Report report)
    {
        var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
            {
                return null;
            }

            parser.Consume<DocumentStart>();
            YNode root = ReadNode(parser, anchors, report, "");
            parser.Consume<DocumentEnd>();
            if (!parser.TryConsume<StreamEnd>(out _))
            {
                Mark at = parser.Current?.Start ?? Mark.Empty;
                report((int)at.Line, (int)at.Column, ConfigCodes.YamlSyntax, "", "only one YAML document is allowed per file");
            }

            return root;
        }
        catch (YamlException ex)
        {
            report((int)ex.Start.Line, (int)ex.Start.Column, ConfigCodes.YamlSyntax, "", CleanMessage(ex));
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this instead of a YamlException on some malformed input (an unclosed flow
            // collection followed by block content); it is still a syntax error of the file, not a host failure.
            Mark at = parser.Current?.Start ?? Mark.Empty;
            report(Math.Max(1, (int)at.Line), Math.Max(1, (int)at.Column), ConfigCodes.YamlSyntax, "",
                "malformed YAML after this point (an unclosed '[', '{' or quote?)");
            return null;
        }
    }

    private static YNode ReadNode(Parser parser, Dictionary<string, YNode> anchors, Report report, string path)
    {
        if (parser.TryConsume<AnchorAlias>(out AnchorAlias? alias))
        {
            if (anchors.TryGetValue(alias.Value.Value, out YNode? target))
            {
                return target;
            }

            throw new YamlException(alias.Start, alias.End, $"unknown alias '*{alias.Value.Value}'");
        }

        if (parser.TryConsume<Scalar>(out Scalar? scalar))
        {
            var node = new YScalar(scalar.Value, scalar.Style, (int)scalar.Start.Line, (int)scalar.Start.Column);
            Remember(anchors, scalar, node);
            return node;
        }

        if (parser.TryConsume<SequenceStart>(out SequenceStart? sequenceStart))
        {
            var seq = new YSeq((int)sequenceStart.Start.Line, (int)sequenceStart.Start.Column);
            Remember(anchors, sequenceStart, seq);
            int index = 0;
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                seq.Items.Add(ReadNode(parser, anchors, report, $"{path}[#{++index}]"));
            }

            return seq;
        }

        MappingStart mappingStart = parser.Consume<MappingStart>();
        var map = new YMap((int)mappingStart.Start.Line, (int)mappingStart.Start.Column);
        Remember(anchors, mappingStart, map);
        var seen = new Dictionary<string, YScalar>(StringComparer.Ordinal);
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            YNode keyNode = ReadNode(parser, anchors, report, path);
            YNode value = ReadNode(parser, anchors, report, path);
            if (keyNode is not YScalar key)
            {
                report(keyNode.Line, keyNode.Column, ConfigCodes.WrongType, path, "mapping keys must be scalars");
                continue;
            }

            if (key.Text == "<<" && key.Style == ScalarStyle.Plain)
            {
                report(key.Line, key.Column, ConfigCodes.YamlSyntax, Join(path, "<<"), "merge keys ('<<') are not supported; repeat the keys or use an alias for the whole value");
                continue;
            }

            if (seen.TryGetValue(key.Text, out YScalar? first))
            {
                report(key.Line, key.Column, ConfigCodes.DuplicateKey, Join(path, key.Text),
                    string.Create(CultureInfo.InvariantCulture, $"duplicate key '{key.Text}' (first at line {first.Line})"));
                continue;
            }

            seen.Add(key.Text, key);
            map.Entries.Add(new KeyValuePair<YScalar, YNode>(key, value));
        }

        return map;
    }

    internal static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    private static void Remember(Dictionary<string, YNode> anchors, NodeEvent nodeEvent, YNode node)
    {
        if (!nodeEvent.Anchor.IsEmpty)
        {
            anchors[nodeEvent.Anchor.Value] = node;
        }
    }

    /// <summary>YamlDotNet prefixes messages with the position, which the finding already carries.</summary>
    private static string CleanMessage(YamlException ex)
    {
        string message = PositionPrefix().Replace(ex.Message, "");
        return message.Length == 0 ? "invalid YAML" : char.ToLowerInvariant(message[0]) + message[1..];
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex PositionPrefix();
}
