using Fsm2.Edge.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace Fsm2.Edge.Mqtt.Tests.Integration;

/// <summary>One captured log event, stamped with <see cref="TimeProvider.System"/>'s timestamp when it was logged.</summary>
public sealed record LoggedEvent(long Timestamp, string Category, LogLevel Level, string Name, string Message);

/// <summary>
/// A logger provider that keeps every event at Debug and above and lets a test await the first event matching a
/// condition (with a timeout): real-clock tests wait on events, never on sleeps or spinning snapshots.
/// </summary>
public sealed class EventLog : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly List<LoggedEvent> _events = [];
    private readonly List<(Func<LoggedEvent, bool> Match, TaskCompletionSource<LoggedEvent> Done)> _waiters = [];

    /// <summary>Every event so far, in logging order.</summary>
    public IReadOnlyList<LoggedEvent> Snapshot()
    {
        lock (_lock)
        {
            return [.. _events];
        }
    }

    /// <summary>The first event (already logged or still to come) that matches, within the timeout.</summary>
    public Task<LoggedEvent> WaitForAsync(Func<LoggedEvent, bool> match, string what, TimeSpan? timeout = null)
    {
        var done = new TaskCompletionSource<LoggedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            LoggedEvent? seen = _events.Find(e => match(e));
            if (seen is not null)
            {
                return Task.FromResult(seen);
            }

            _waiters.Add((match, done));
        }

        return Wait.For(done.Task, what, timeout);
    }

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private void Add(LoggedEvent logged)
    {
        lock (_lock)
        {
            _events.Add(logged);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(logged))
                {
                    _waiters[i].Done.TrySetResult(logged);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private sealed class Logger(EventLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Add(new LoggedEvent(TimeProvider.System.GetTimestamp(), category, logLevel, eventId.Name ?? "", formatter(state, exception)));
            }
        }
    }
}
