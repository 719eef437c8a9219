using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Fluid;

namespace Fsm2.Edge.Templating;

/// <summary>
/// Renders Liquid templates (Fluid.Core) in Fsm2.Edge's strict mode (20-templating §2): a missing or null variable,
/// printing a whole map or list, an unknown filter, a member of a scalar or an exceeded limit fails the whole
/// render with a <see cref="TemplateException"/> naming the path; names are ordinal; <c>include</c> and
/// <c>render</c> do not exist; nothing is HTML-encoded. Go template syntax is rejected with the Liquid form.
/// </summary>
/// <remarks>
/// <para>
/// Thread safety: every member is safe from any thread. Config renders run on the tick thread, validation parses on
/// the loader thread and named templates on data-path threads. The parser, the options and parsed templates are
/// shared read-only; each render gets its own <see cref="TemplateContext"/> (a shared one gives wrong output).
/// </para>
/// <para>
/// Cache: parsed templates are kept per distinct text (ordinal), parse failures included, up to a capacity
/// (default 1,024); an insert beyond it trims the least recently used entries to 90 % on the inserting thread.
/// Concurrent first uses of a text parse it once.
/// </para>
/// </remarks>
public sealed class LiquidRenderer
{
    /// <summary>The longest template text accepted, in characters.</summary>
    public const int MaxTemplateChars = 262_144;

    /// <summary>The longest output accepted, in characters.</summary>
    public const int MaxOutputChars = 1 << 20;

    /// <summary>Fluid's statement budget per render (its default, 0, is unlimited).</summary>
    public const int MaxSteps = 100_000;

    /// <summary>The default cache capacity (distinct template texts).</summary>
    public const int DefaultCacheCapacity = 1_024;

    // Writers whose buffer grew beyond this are dropped after the render instead of being kept for the thread:
    // arbitrary; 64 KiB is far above a typical config (~1 KiB) and bounds what each thread retains.
    private const int RetainedBufferChars = 64 * 1024;

    private static readonly FluidParser s_parser = CreateParser();

    private static readonly TemplateOptions s_options = new()
    {
        StrictVariables = true,
        StrictFilters = true,
        ModelNamesComparer = StringComparer.Ordinal,
        CultureInfo = CultureInfo.InvariantCulture,
        TimeZone = TimeZoneInfo.Utc,
        MaxSteps = MaxSteps,
    };

    [ThreadStatic]
    private static StringWriter? t_writer;

    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);
    private readonly Lock _trimLock = new();
    private readonly int _capacity;
    private long _clock;
    private long _parseCount;
    private long _renderCount;
    private long _evictionCount;

    /// <summary>Creates a renderer with its own parse cache.</summary>
    /// <param name="cacheCapacity">The most distinct texts kept; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cacheCapacity"/> is less than 1.</exception>
    public LiquidRenderer(int cacheCapacity = DefaultCacheCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cacheCapacity, 1);
        _capacity = cacheCapacity;
    }

    /// <summary>A process-wide renderer for code that has no runtime at hand (tools, tests, helpers).</summary>
    public static LiquidRenderer Shared { get; } = new();

    /// <summary>Texts parsed (Go scan + Liquid parse) since creation; a cache hit does not count.</summary>
    public long ParseCount => Interlocked.Read(ref _parseCount);

    /// <summary>Renders of a non-empty template since creation, failed ones included.</summary>
    public long RenderCount => Interlocked.Read(ref _renderCount);

    /// <summary>Cache entries trimmed since creation.</summary>
    public long EvictionCount => Interlocked.Read(ref _evictionCount);

    /// <summary>Entries in the parse cache.</summary>
    public int CacheCount => _cache.Count;

    /// <summary>
    /// The parsed form of <paramref name="text"/>, from the cache when present. Never throws for a bad template: the
    /// Parse error is in <see cref="ParsedTemplate.Error"/>.
    /// </summary>
    /// <param name="text">The template text.</param>
    /// <returns>The parsed template or its Parse error.</returns>
    public ParsedTemplate Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTemplateChars)
        {
            // Not cached: an oversized text would pin up to 512 KiB per entry for nothing.
            return new ParsedTemplate(text, null,
                new TemplateException(TemplateErrorKind.Parse, $"parse template: template exceeds {MaxTemplateChars} characters", null, "FSM2CFG041"));
        }

        if (!_cache.TryGetValue(text, out CacheEntry? entry))
        {
            entry = _cache.GetOrAdd(text, static (t, self) => new CacheEntry(t, self), this);
            if (_cache.Count > _capacity)
            {
                Trim();
            }
        }

        Volatile.Write(ref entry.LastUse, Interlocked.Increment(ref _clock));
        return entry.Value;
    }

    /// <summary>
    /// Renders <paramref name="text"/> against <paramref name="scope"/>. An empty text returns <c>""</c> at once,
    /// with no parse and no variable checks.
    /// </summary>
    /// <param name="text">The template text.</param>
    /// <param name="scope">The names in scope.</param>
    /// <returns>The whole output.</returns>
    /// <exception cref="TemplateException">Parse, MissingVariable or Render; no partial output is returned.</exception>
    public string Render(string text, RenderScope scope)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length == 0 ? "" : Render(Parse(text), scope);
    }

    /// <summary>Renders a parsed template against <paramref name="scope"/>.</summary>
    /// <param name="template">The parsed template.</param>
    /// <param name="scope">The names in scope.</param>
    /// <returns>The whole output.</returns>
    /// <exception cref="TemplateException">The template's Parse error, or MissingVariable or Render; no partial output is returned.</exception>
    public string Render(ParsedTemplate template, RenderScope scope)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(scope);
        if (template.Text.Length == 0)
        {
            return "";
        }

        Interlocked.Increment(ref _renderCount);
        if (template.Error is { } parseError)
        {
            throw parseError;
        }

        StringWriter writer = t_writer ??= new StringWriter(new StringBuilder(1024), CultureInfo.InvariantCulture);
        StringBuilder buffer = writer.GetStringBuilder();
        buffer.Clear();
        var context = new TemplateContext(new ScopeMap("", scope.Root), s_options, allowModelMembers: false) { Now = scope.Now };
        try
        {
            // The interface overload leaves the writer open (the extension overloads dispose it); with these values it
            // completes synchronously.
            ValueTask pending = template.Template!.RenderAsync(writer, NullEncoder.Default, context); // valid templates have one.
            if (!pending.IsCompletedSuccessfully)
            {
                pending.AsTask().GetAwaiter().GetResult();
            }
        }
        catch (ScopeFault fault)
        {
            throw fault.Error;
        }
        catch (FluidException ex) when (ex.Message.StartsWith("Undefined filter", StringComparison.Ordinal))
        {
            throw new TemplateException(TemplateErrorKind.Render, "render template: unknown filter" + ex.Message["Undefined filter".Length..], null, null, ex);
        }
        catch (FluidException ex) when (ex.Message.StartsWith("Undefined variable", StringComparison.Ordinal))
        {
            // The model reports every miss itself; Fluid's own report comes only from a member of a scalar or a local.
            throw TemplateException.Render("a member was read from a value that is neither a map nor a list", null, ex);
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("maximum", StringComparison.OrdinalIgnoreCase))
        {
            // Fluid reports an exceeded MaxSteps as "maximum level of recursion": say what it is.
            throw TemplateException.Render($"step limit of {MaxSteps} exceeded", null, ex);
        }
        catch (Exception ex) when (ex is not TemplateException)
        {
            throw TemplateException.Render(ex.Message, null, ex);
        }
        finally
        {
            if (buffer.Capacity > RetainedBufferChars)
            {
                t_writer = null;
            }
        }

        if (buffer.Length > MaxOutputChars)
        {
            throw TemplateException.Render($"output exceeds {MaxOutputChars} characters");
        }

        return buffer.ToString();
    }

    private static FluidParser CreateParser()
    {
        var parser = new FluidParser();

        // No file access: left registered, include and render throw FileNotFoundException at render time; removed,
        // they are "Unknown tag" parse errors (rewritten in ParseCore).
        parser.RegisteredTags.Remove("include");
        parser.RegisteredTags.Remove("render");
        return parser;
    }

    private ParsedTemplate ParseCore(string text)
    {
        Interlocked.Increment(ref _parseCount);
        if (GoSyntaxDetector.Find(text) is { } go)
        {
            return new ParsedTemplate(text, null, new TemplateException(TemplateErrorKind.Parse, "parse template: " + go, null, "FSM2CFG040"));
        }

        if (s_parser.TryParse(text, out IFluidTemplate? template, out string? error))
        {
            return new ParsedTemplate(text, template, null);
        }

        string first = (error ?? "unknown error").Split('\n', 2)[0].TrimEnd();
        string code = "FSM2CFG041";
        foreach (string removed in (ReadOnlySpan<string>)["include", "render"])
        {
            string unknown = $"Unknown tag '{removed}'";
            if (first.StartsWith(unknown, StringComparison.Ordinal))
            {
                first = $"'{removed}' is not allowed in Fsm2.Edge templates" + first[unknown.Length..];
                code = "FSM2CFG043";
            }
        }

        return new ParsedTemplate(text, null, new TemplateException(TemplateErrorKind.Parse, "parse template: " + first, null, code));
    }

    private void Trim()
    {
        lock (_trimLock)
        {
            int count = _cache.Count;
            if (count <= _capacity)
            {
                return;
            }

            KeyValuePair<string, CacheEntry>[] entries = _cache.ToArray();
            Array.Sort(entries, static (a, b) => Volatile.Read(ref a.Value.LastUse).CompareTo(Volatile.Read(ref b.Value.LastUse)));
            int target = Math.Max(1, _capacity * 9 / 10);
            for (int i = 0; i < entries.Length && _cache.Count > target; i++)
            {
                if (_cache.TryRemove(entries[i]))
                {
                    Interlocked.Increment(ref _evictionCount);
                }
            }
        }
    }

    private sealed class CacheEntry
    {
        private readonly Lazy<ParsedTemplate> _value;

        // Shared: written by every thread that looks the text up; read by the trimming thread.
        public long LastUse;

        public CacheEntry(string text, LiquidRenderer owner)
        {
            _value = new Lazy<ParsedTemplate>(() => owner.ParseCore(text), LazyThreadSafetyMode.ExecutionAndPublication);
        }

        public ParsedTemplate Value => _value.Value;
    }
}
