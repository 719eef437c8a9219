namespace Fsm2.Edge.Tests.TestSupport;

/// <summary>Locates the repository from the test output directory (tests that read committed files).</summary>
public static class RepositoryPaths
{
    /// <summary>The directory that holds Fsm2.Edge.sln.</summary>
    public static string Root()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Fsm2.Edge.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("Fsm2.Edge.sln not found above " + AppContext.BaseDirectory);
    }
}
