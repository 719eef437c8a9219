using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Values;

namespace Fsm2.Edge.Templating;

/// <summary>
/// A fault raised by the template model while Fluid evaluates: it carries the finished <see cref="TemplateException"/>
/// (kind and path), so classification never parses message text. A <see cref="FluidException"/> because Fluid passes
/// those through unchanged.
/// </summary>
internal sealed class ScopeFault : FluidException
{
    public ScopeFault(TemplateException error)
        : base(error.Message)
    {
        Error = error;
    }

    public ScopeFault()
        : this(new TemplateException())
    {
    }

    public ScopeFault(string message)
        : this(new TemplateException(message))
    {
    }

    public ScopeFault(string message, Exception innerException)
        : this(new TemplateException(message, innerException))
    {
    }

    public TemplateException Error { get; }
}

/// <summary>
/// Maps normalised values to Fluid values with their path (20-templating §2.4, §4.3). It never falls back to
/// <see cref="FluidValue.Create"/>, which would print a <see cref="TimeSpan"/> as a date and a JSON <c>true</c> as
/// <c>True</c>.
/// </summary>
internal static class ScopeValues
{
    // decimal covers ±7.9e28; larger doubles print their round-trip text (1E+30).
    private const double DecimalLimit = 7.9e28;

    public static FluidValue Wrap(object? value, string path)
    {
        switch (value)
        {
            case null:
                throw new ScopeFault(TemplateException.Null(path));
            case string s:
                return new StringValue(s, encode: false);
            case bool b:
                return BooleanValue.Create(b);
            case long l:
                return NumberValue.Create(l);
            case decimal m:
                return NumberValue.Create(m);
            case double d:
                return FromDouble(d, path);
            case DateTimeOffset at:
                return new StringValue(VariableValue.FormatDate(at), encode: false);
            case IReadOnlyDictionary<string, object?> map:
                return new ScopeMap(path, map);
            case IReadOnlyList<object?> list:
                return new ScopeList(path, list);
            case int or short or sbyte or byte or ushort or uint or ulong or float or DateTime or Guid or char or Uri or Enum:
                // Not normalised yet (a raw value reached the renderer): apply the same mapping as normalisation.
                return Wrap(VariableValue.Normalize(value, path), path);
            default:
                throw new ScopeFault(TemplateException.Render(
                    $"variable '{path}' has unsupported type {VariableValue.TypeName(value)}; pass a number or string", path));
        }
    }

    private static FluidValue FromDouble(double d, string path)
    {
        if (!double.IsFinite(d))
        {
            throw new ScopeFault(TemplateException.Render($"variable '{path}' is not a finite number ({VariableValue.NonFiniteName(d)})", path));
        }

        // Shortest round-trip text, then decimal: Fluid alone truncates doubles to 15 digits and prints 1e20 in
        // exponent form; decimal prints 100000000000000000000 and 0.3333333333333333.
        string text = d.ToString("R", CultureInfo.InvariantCulture);
        if (Math.Abs(d) < DecimalLimit)
        {
            return NumberValue.Create(decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        return new StringValue(text, encode: false);
    }
}

/// <summary>
/// A map in the template model: ordinal lookups that fail with the full path, never printable, never iterable, and
/// <c>contains</c> as "key present with a non-null value". <see cref="IFluidIndexable"/> is what lets Fluid's
/// <c>json</c> filter serialise it (keys in ordinal order).
/// </summary>
internal sealed class ScopeMap : FluidValue, IFluidIndexable
{
    private readonly string _path;
    private readonly IReadOnlyDictionary<string, object?> _map;

    public ScopeMap(string path, IReadOnlyDictionary<string, object?> map)
    {
        _path = path;
        _map = map;
    }

    public override FluidValues Type => FluidValues.Dictionary;

    public int Count => _map.Count;

    public IEnumerable<string> Keys
    {
        get
        {
            var keys = new string[_map.Count];
            int i = 0;
            foreach (string key in _map.Keys)
            {
                keys[i++] = key;
            }

            Array.Sort(keys, StringComparer.Ordinal);
            return keys;
        }
    }

    public bool TryGetValue(string name, out FluidValue value)
    {
        value = Member(name);
        return true;
    }

    public override ValueTask<FluidValue> GetValueAsync(string name, TemplateContext context) => Member(name);

    public override ValueTask<FluidValue> GetIndexAsync(FluidValue index, TemplateContext context) => Member(index.ToStringValue());

    public override bool Contains(FluidValue value)
        => _map.TryGetValue(value.ToStringValue(), out object? entry) && entry is not null;

    public override IEnumerable<FluidValue> Enumerate(TemplateContext context)
        => throw new ScopeFault(TemplateException.Render($"cannot iterate map '{Display}'; reference its keys", _path));

    public override ValueTask WriteToAsync(TextWriter writer, TextEncoder encoder, CultureInfo cultureInfo) => throw PrintFault();

    public override bool Equals(FluidValue other)
        => ReferenceEquals(this, other) || (other.Type is FluidValues.Empty or FluidValues.Blank && _map.Count == 0);

    public override bool ToBooleanValue() => true;

    public override decimal ToNumberValue() => 0;

    public override string ToStringValue() => throw PrintFault();

    public override object ToObjectValue() => this;

    public override bool Equals(object? obj) => obj is FluidValue other && Equals(other);

    public override int GetHashCode() => _map.GetHashCode();

    private string Display => _path.Length == 0 ? "(scope)" : _path;

    private FluidValue Member(string name)
    {
        string path = VariableValue.MemberPath(_path, name);
        if (!_map.TryGetValue(name, out object? value))
        {
            throw new ScopeFault(TemplateException.Missing(path));
        }

        return ScopeValues.Wrap(value, path);
    }

    private ScopeFault PrintFault()
    {
        var keys = new StringBuilder();
        int shown = 0;
        foreach (string key in Keys)
        {
            if (shown == 5)
            {
                keys.Append(", \u2026");
                break;
            }

            if (shown > 0)
            {
                keys.Append(", ");
            }

            keys.Append(key);
            shown++;
        }

        return new ScopeFault(TemplateException.Render($"cannot print map '{Display}' as text; reference one of its keys ({keys})", _path));
    }
}

/// <summary>
/// A list in the template model: <c>size</c>, <c>first</c>, <c>last</c>, <c>[i]</c>, iteration (<c>for</c>,
/// <c>join</c>, <c>json</c>) and <c>contains</c>; printing it is an error.
/// </summary>
internal sealed class ScopeList : FluidValue
{
    private readonly string _path;
    private readonly IReadOnlyList<object?> _list;

    public ScopeList(string path, IReadOnlyList<object?> list)
    {
        _path = path;
        _list = list;
    }

    public override FluidValues Type => FluidValues.Array;

    public override ValueTask<FluidValue> GetValueAsync(string name, TemplateContext context) => name switch
    {
        "size" => NumberValue.Create(_list.Count),
        "first" => Item(0, VariableValue.MemberPath(_path, "first")),
        "last" => Item(_list.Count - 1, VariableValue.MemberPath(_path, "last")),
        _ => throw new ScopeFault(TemplateException.Missing(VariableValue.MemberPath(_path, name))),
    };

    public override ValueTask<FluidValue> GetIndexAsync(FluidValue index, TemplateContext context)
    {
        decimal number = index.Type == FluidValues.Number ? index.ToNumberValue() : -1;
        int i = number == decimal.Truncate(number) && number >= 0 && number < int.MaxValue ? (int)number : -1;
        string shown = index.Type == FluidValues.Number ? number.ToString(CultureInfo.InvariantCulture) : "'" + index.ToStringValue() + "'";
        return Item(i, _path + "[" + shown + "]");
    }

    public override bool Contains(FluidValue value)
    {
        for (int i = 0; i < _list.Count; i++)
        {
            if (_list[i] is not null && ScopeValues.Wrap(_list[i], Path(i)).Equals(value))
            {
                return true;
            }
        }

        return false;
    }

    public override IEnumerable<FluidValue> Enumerate(TemplateContext context)
    {
        var items = new FluidValue[_list.Count];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = ScopeValues.Wrap(_list[i], Path(i));
        }

        return items;
    }

    public override ValueTask WriteToAsync(TextWriter writer, TextEncoder encoder, CultureInfo cultureInfo) => throw PrintFault();

    public override bool Equals(FluidValue other)
        => ReferenceEquals(this, other) || (other.Type is FluidValues.Empty or FluidValues.Blank && _list.Count == 0);

    public override bool ToBooleanValue() => true;

    public override decimal ToNumberValue() => _list.Count;

    public override string ToStringValue() => throw PrintFault();

    public override object ToObjectValue() => _list;

    public override bool Equals(object? obj) => obj is FluidValue other && Equals(other);

    public override int GetHashCode() => _list.GetHashCode();

    private string Path(int i) => _path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]";

    private FluidValue Item(int i, string path)
    {
        if ((uint)i >= (uint)_list.Count)
        {
            throw new ScopeFault(TemplateException.Missing(path));
        }

        return ScopeValues.Wrap(_list[i], path);
    }

    private ScopeFault PrintFault()
        => new(TemplateException.Render($"cannot print list '{_path}' as text; use a filter such as join", _path));
}
