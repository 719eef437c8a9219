using Fsm2.Edge.Tests.TestSupport;
using System.Reflection;
using System.Text.RegularExpressions;
using Fsm2.Edge.Supervision;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;

namespace Fsm2.Edge.Tests.Architecture;

/// <summary>Rules the compiler cannot see (STYLE §2.9).</summary>
public sealed partial class ArchitectureTests
{
    private static readonly Assembly[] s_sourceAssemblies =
    [
        typeof(SupervisorRuntime).Assembly,
        typeof(SyntheticWorker).Assembly,
        typeof(Fsm2.Edge.Testing.Actions.ActionIdempotency).Assembly,
    ];

    [Fact]
    public void States_HaveNoInstanceFieldsAndAreSingletons()
    {
        // arrange
        List<Type> states = s_sourceAssemblies
            .SelectMany(a => a.GetTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } && t.GetInterfaces().Any(IsStateInterface))
            .ToList();

        // act
        var offenders = new List<string>();
        foreach (Type state in states)
        {
            FieldInfo[] fields = state.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            if (fields.Length > 0)
            {
                offenders.Add($"{state.FullName} has instance fields: {string.Join(", ", fields.Select(f => f.Name))}");
            }

            bool hasSingleton = state.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Any(f => f.IsInitOnly && f.FieldType.IsAssignableFrom(state))
                || state.DeclaringType?.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                    .Any(f => f.IsInitOnly && f.FieldType.GetInterfaces().Concat([f.FieldType]).Any(IsStateInterface)) == true;
            if (!hasSingleton)
            {
                offenders.Add($"{state.FullName} has no static readonly singleton instance");
            }
        }

        // assert
        Assert.NotEmpty(states);
        Assert.Empty(offenders);
    }

    [Fact]
    public void RuntimeLibrary_ReferencesNoMqttNorPeerNorPerfAssembly()
    {
        // arrange
        string[] forbidden = ["MQTTnet", "Akka", "Proto.Actor", "Stateless", "Polly", "BenchmarkDotNet", "Fsm2.Edge.Benchmarks", "Fsm2.Edge.Load"];

        // act
        List<string> hits = s_sourceAssemblies
            .SelectMany(a => a.GetReferencedAssemblies().Select(r => $"{a.GetName().Name} -> {r.Name}"))
            .Where(edge => forbidden.Any(f => edge.EndsWith("-> " + f, StringComparison.Ordinal)
                || edge.Contains("-> " + f + ".", StringComparison.Ordinal)))
            .ToList();
        List<string> coreToMqtt = typeof(SupervisorRuntime).Assembly.GetReferencedAssemblies()
            .Where(r => r.Name!.StartsWith("Fsm2.Edge.", StringComparison.Ordinal))
            .Select(r => r.Name!)
            .ToList();

        // assert
        Assert.Empty(hits);
        Assert.Empty(coreToMqtt);
    }

    [Fact]
    public void PublicTypes_LiveInAFeatureFolderNamespace()
    {
        // act
        List<string> offenders = s_sourceAssemblies
            .SelectMany(a => a.GetExportedTypes().Select(t => (Assembly: a.GetName().Name!, Type: t)))
            .Where(x => x.Type.Namespace is null || !x.Type.Namespace.StartsWith(x.Assembly + ".", StringComparison.Ordinal))
            .Select(x => x.Type.FullName!)
            .ToList();

        // assert
        Assert.Empty(offenders);
    }

    [Fact]
    public void SourceCode_ReadsNoClockButTimeProvider()
    {
        // arrange: the banned-API analyzer enforces this at build time; this test guards against its removal.
        string src = Path.Combine(RepositoryRoot(), "src");
        Regex banned = BannedClock();

        // act
        List<string> hits = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(x => banned.IsMatch(x.Text))
            .Select(x => $"{Path.GetRelativePath(src, x.File)}:{x.Line}: {x.Text.Trim()}")
            .ToList();

        // assert
        Assert.Empty(hits);
        Assert.Contains("DateTime.UtcNow", File.ReadAllText(Path.Combine(src, "BannedSymbols.txt")), StringComparison.Ordinal);
    }

    private static bool IsStateInterface(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IState<,>);

    private static string RepositoryRoot() => RepositoryPaths.Root();

    [GeneratedRegex(@"\b(DateTime|DateTimeOffset)\.(Now|UtcNow|Today)\b|Stopwatch\.(GetTimestamp|StartNew)\(|Thread\.Sleep\(")]
    private static partial Regex BannedClock();
}
