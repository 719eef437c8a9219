namespace Fsm2.Edge.Mqtt.Client;

/// <summary>MQTT topic names and filters (MQTT 5 §4.7), shared by the MQTTnet client and the in-memory double so both
/// route identically.</summary>
/// <remarks>
/// <c>+</c> matches exactly one level (an empty level too); <c>#</c>, only as the last level, matches the parent level and
/// everything below it (<c>a/#</c> matches <c>a</c>, <c>a/b</c>, <c>a/b/c</c>). A wildcard in the first level never
/// matches a topic starting with <c>$</c>. Matching walks both strings once and allocates nothing.
/// </remarks>
public static class MqttTopics
{
    /// <summary>Whether <paramref name="topic"/> is a valid topic name to publish to: non-empty, no wildcards, no NUL.</summary>
    /// <param name="topic">The topic.</param>
    /// <returns><see langword="true"/> when valid.</returns>
    public static bool IsValidTopic(string? topic) =>
        !string.IsNullOrEmpty(topic) && topic.AsSpan().IndexOfAny('+', '#', '\0') < 0;

    /// <summary>Whether <paramref name="filter"/> is a valid subscription filter: non-empty, <c>+</c> and <c>#</c>
    /// occupying a whole level, <c>#</c> only last.</summary>
    /// <param name="filter">The filter.</param>
    /// <returns><see langword="true"/> when valid.</returns>
    public static bool IsValidFilter(string? filter)
    {
        if (string.IsNullOrEmpty(filter) || filter.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> rest = filter;
        while (true)
        {
            int slash = rest.IndexOf('/');
            ReadOnlySpan<char> level = slash < 0 ? rest : rest[..slash];
            if (level.Length > 1 && level.IndexOfAny('+', '#') >= 0)
            {
                return false;
            }

            if (level.Length == 1 && level[0] == '#' && slash >= 0)
            {
                return false;
            }

            if (slash < 0)
            {
                return true;
            }

            rest = rest[(slash + 1)..];
        }
    }

    /// <summary>Whether <paramref name="topic"/> matches <paramref name="filter"/>. Both are assumed valid.</summary>
    /// <param name="filter">A valid filter.</param>
    /// <param name="topic">A valid topic name.</param>
    /// <returns><see langword="true"/> on a match.</returns>
    public static bool Matches(string filter, string topic)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(topic);
        if (topic.Length > 0 && topic[0] == '$' && filter.Length > 0 && filter[0] is '+' or '#')
        {
            return false;
        }

        ReadOnlySpan<char> f = filter;
        ReadOnlySpan<char> t = topic;
        while (true)
        {
            int fSlash = f.IndexOf('/');
            ReadOnlySpan<char> fLevel = fSlash < 0 ? f : f[..fSlash];
            if (fLevel.Length == 1 && fLevel[0] == '#')
            {
                return true;
            }

            int tSlash = t.IndexOf('/');
            ReadOnlySpan<char> tLevel = tSlash < 0 ? t : t[..tSlash];
            if (!(fLevel.Length == 1 && fLevel[0] == '+') && !fLevel.SequenceEqual(tLevel))
            {
                return false;
            }

            if (fSlash < 0 || tSlash < 0)
            {
                if (fSlash < 0 && tSlash < 0)
                {
                    return true;
                }

                // The topic ended but the filter goes on: only a trailing "/#" still matches (a/# matches a).
                return tSlash < 0 && f[(fSlash + 1)..] is "#";
            }

            f = f[(fSlash + 1)..];
            t = t[(tSlash + 1)..];
        }
    }
}
