// Fsm2.Edge build script (Cake 7, local tool pinned in .config/dotnet-tools.json).
//
//   dotnet tool restore && dotnet cake                  # default target: Test
//   dotnet cake --target=CI                             # what .ci/run executes
//
// No #addin or #tool directives: the script must never contact a package source on its own
// (shared/spec/80-toolchain.md section 8). Everything it runs is the dotnet CLI or a script in .ci/.

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");

const string Solution = "Fsm2.Edge.sln";
const string BenchmarkProject = "perf/Fsm2.Edge.Benchmarks/Fsm2.Edge.Benchmarks.csproj";
const string HostProject = "src/Fsm2.Edge.Host/Fsm2.Edge.Host.csproj";

// Under the CI target, a failing Test or BenchSmoke must not hide the other one: each records its failure
// here and the CI task fails at the end, naming all of them. Under any other target a failure stops the run
// at once, as usual.
var deferFailures = string.Equals(target, "CI", StringComparison.OrdinalIgnoreCase);
var deferredFailures = new List<string>();

// The classic console logger prints the VSTest "Passed!/Failed!" summary lines that .ci/run sums up; the
// terminal logger (default on an interactive terminal) would rewrite them. Node reuse and the MSBuild server
// would leave dotnet processes behind after the run.
var dotnetEnvironment = new Dictionary<string, string>
{
    ["MSBUILDTERMINALLOGGER"] = "off",
    ["MSBUILDDISABLENODEREUSE"] = "1",
    ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
};

// .ci/run counts lines that start with "check: PASS ", "check: FAIL " or "check: SKIP ". They go straight to
// stdout, so that no log colouring ever precedes them.
void Check(string result)
{
    Console.WriteLine($"check: {result}");
}

void Deferrable(string name, Action body)
{
    try
    {
        body();
    }
    catch (Exception ex) when (deferFailures)
    {
        Error($"{name} failed: {ex.Message}");
        deferredFailures.Add(name);
    }
}

Task("Clean")
    .Description("Deletes bin/, obj/, TestResults/ and artifacts/.")
    .Does(() =>
    {
        var delete = new DeleteDirectorySettings { Recursive = true, Force = true };
        foreach (var area in new[] { "src", "tests", "perf" })
        {
            DeleteDirectories(GetDirectories($"./{area}/**/bin"), delete);
            DeleteDirectories(GetDirectories($"./{area}/**/obj"), delete);
            DeleteDirectories(GetDirectories($"./{area}/**/TestResults"), delete);
        }

        if (DirectoryExists("./artifacts"))
        {
            DeleteDirectory("./artifacts", delete);
        }
    });

Task("Restore")
    .Description("Restores the solution's packages.")
    .Does(() =>
    {
        DotNetRestore(Solution, new DotNetRestoreSettings { EnvironmentVariables = dotnetEnvironment });
    });

Task("Build")
    .Description("Builds the solution (warnings are errors).")
    .IsDependentOn("Restore")
    .Does(() =>
    {
        DotNetBuild(Solution, new DotNetBuildSettings
        {
            Configuration = configuration,
            NoRestore = true,
            EnvironmentVariables = dotnetEnvironment,
        });
    });

Task("Test")
    .Description("Runs every test project of the solution in Release (VSTest).")
    .IsDependentOn("Build")
    .Does(() =>
    {
        // A hung test must not hang CI: after 5 minutes in one test (arbitrary; the whole suite takes seconds)
        // VSTest reports that test, kills the test host and the run fails.
        Deferrable("Test", () => DotNetTest(Solution, new DotNetTestSettings
        {
            Configuration = configuration,
            NoBuild = true,
            NoRestore = true,
            EnvironmentVariables = dotnetEnvironment,
            ArgumentCustomization = args => args
                .Append("--blame-hang-timeout").Append("5min")
                .Append("--blame-hang-dump-type").Append("none"),
        }));
    });

Task("BenchSmoke")
    .Description("Builds the benchmarks and runs each once with the dry job; prints 'check: PASS|FAIL benchsmoke'.")
    .Does(() =>
    {
        if (!FileExists(BenchmarkProject))
        {
            Check("SKIP benchsmoke (no benchmark project)");
            return;
        }

        Deferrable("BenchSmoke", () =>
        {
            try
            {
                RunBenchSmoke();
                Check("PASS benchsmoke");
            }
            catch (Exception)
            {
                Check("FAIL benchsmoke");
                throw;
            }
        });
    });

void RunBenchSmoke()
{
    DotNetBuild(BenchmarkProject, new DotNetBuildSettings
    {
        Configuration = "Release",
        EnvironmentVariables = dotnetEnvironment,
    });

    // BenchmarkDotNet exits 0 even when a benchmark fails or the filter matches nothing, so the smoke also
    // reads its output: it passes only if a summary was printed and no benchmark was reported with issues.
    var sawSummary = false;
    var problems = new List<string>();
    var arguments = new ProcessArgumentBuilder()
        .Append("run")
        .Append("-c").Append("Release")
        .Append("--no-build")
        .Append("--project").AppendQuoted(BenchmarkProject)
        .Append("--")
        .Append("--job").Append("dry")
        .Append("--filter").AppendQuoted("*")
        .Append("--artifacts").AppendQuoted("artifacts/bench");
    var exitCode = StartProcess("dotnet", new ProcessSettings
    {
        Arguments = arguments,
        EnvironmentVariables = dotnetEnvironment,
        RedirectStandardOutput = true,
        RedirectedStandardOutputHandler = line =>
        {
            if (line is null)
            {
                return line;
            }

            Console.WriteLine(line);
            if (line.StartsWith("// * Summary *", StringComparison.Ordinal))
            {
                sawSummary = true;
            }

            if (line.Contains("Benchmarks with issues:", StringComparison.Ordinal)
                || line.Contains("returned 0 benchmarks", StringComparison.Ordinal)
                || line.Contains("No benchmarks", StringComparison.Ordinal)
                || line.Contains("// Build Error", StringComparison.Ordinal))
            {
                problems.Add(line.Trim());
            }

            return line;
        },
    });

    if (exitCode != 0)
    {
        throw new CakeException($"benchmark run exited with code {exitCode}");
    }

    if (problems.Count > 0)
    {
        throw new CakeException("benchmark run reported: " + string.Join(" | ", problems));
    }

    if (!sawSummary)
    {
        throw new CakeException("benchmark run printed no summary, so no benchmark ran");
    }
}

Task("Publish")
    .Description("Publishes the fsm2-edge host to artifacts/publish.")
    .Does(() =>
    {
        if (!FileExists(HostProject))
        {
            Information($"publish: SKIP (no host project at {HostProject})");
            return;
        }

        DotNetPublish(HostProject, new DotNetPublishSettings
        {
            Configuration = "Release",
            OutputDirectory = "artifacts/publish",
            EnvironmentVariables = dotnetEnvironment,
        });
    });

Task("Bootstrap")
    .Description("Installs the Debian packages the tests need (.ci/install-deps).")
    .Does(() =>
    {
        var exitCode = StartProcess("bash", new ProcessSettings { Arguments = ".ci/install-deps" });
        if (exitCode != 0)
        {
            throw new CakeException($".ci/install-deps exited with code {exitCode}");
        }
    });

Task("LatencyChecks")
    .Description("Runs the wall-clock acceptance checks of the executor (A-36 tick side, A-37); prints 'check: PASS|FAIL' lines.")
    .IsDependentOn("BenchSmoke")
    .Does(() =>
    {
        // The benchmark project is built by BenchSmoke. The program prints its own check lines and exits 1 on a failure.
        Deferrable("LatencyChecks", () =>
        {
            var exitCode = StartProcess("dotnet", new ProcessSettings
            {
                Arguments = new ProcessArgumentBuilder()
                    .Append("run").Append("-c").Append("Release").Append("--no-build")
                    .Append("--project").AppendQuoted(BenchmarkProject)
                    .Append("--").Append("--checks"),
                EnvironmentVariables = dotnetEnvironment,
            });
            if (exitCode != 0)
            {
                throw new CakeException($"latency checks exited with {exitCode}");
            }
        });
    });

Task("CI")
    .Description("Test, BenchSmoke and LatencyChecks; fails at the end if any failed.")
    .IsDependentOn("Test")
    .IsDependentOn("BenchSmoke")
    .IsDependentOn("LatencyChecks")
    .Does(() =>
    {
        if (deferredFailures.Count > 0)
        {
            throw new CakeException("CI failed: " + string.Join(", ", deferredFailures));
        }
    });

RunTarget(target);
