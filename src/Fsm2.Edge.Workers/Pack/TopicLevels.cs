namespace Fsm2.Edge.Workers.Pack;

/// <summary>Topic helpers of the worker pack (50-runtime-monitoring §7.4): a filter's fixed prefix and the tag of a topic.</summary>
internal static class TopicLevels
{
    /// <summary>
    /// The levels of <paramref name="filter"/> before its first wildcard, without the trailing slash:
    /// <c>devices/press-1/#</c> → <c>devices/press-1</c>; a filter without wildcards is its own prefix.
    /// </summary>
    public static string FixedPrefix(string filter)
    {
        int wildcard = filter.AsSpan().IndexOfAny('+', '#');
        if (wildcard < 0)
        {
            return filter;
        }

        return wildcard == 0 ? "" : filter[..(wildcard - 1)];
    }

    /// <summary>
    /// The tag of <paramref name="topic"/> under a filter with fixed prefix <paramref name="prefix"/>: the levels after
    /// the prefix joined with <c>.</c> (<c>devices/press-1/axis/x</c> → <c>axis.x</c>). A topic equal to the prefix has
    /// the tag of its last level, so a filter without wildcards still yields a usable tag.
    /// </summary>
    public static string Tag(string topic, string prefix)
    {
        ReadOnlySpan<char> rest;
        if (prefix.Length == 0)
        {
            rest = topic;
        }
        else if (topic.Length > prefix.Length && topic.StartsWith(prefix, StringComparison.Ordinal) && topic[prefix.Length] == '/')
        {
            rest = topic.AsSpan(prefix.Length + 1);
        }
        else
        {
            int slash = topic.LastIndexOf('/');
            rest = slash < 0 ? topic : topic.AsSpan(slash + 1);
        }

        return rest.Contains('/') ? string.Create(rest.Length, rest.ToString(), static (dst, src) =>
        {
            src.AsSpan().CopyTo(dst);
            dst.Replace('/', '.');
        }) : rest.ToString();
    }

    /// <summary>Whether <paramref name="filter"/> is a valid MQTT subscription filter (MQTT 5 §4.7.1).</summary>
    public static bool IsValidFilter(string? filter)
    {
        if (string.IsNullOrEmpty(filter) || filter.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        string[] levels = filter.Split('/');
        for (int i = 0; i < levels.Length; i++)
        {
            string level = levels[i];
            if (level.Length > 1 && level.AsSpan().IndexOfAny('+', '#') >= 0)
            {
                return false;
            }

            if (level == "#" && i != levels.Length - 1)
            {
                return false;
            }
        }

        return true;
    }
}
