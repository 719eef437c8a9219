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
const string AotOutput = "artifacts/aot-x64";
const string Arm64Output = "artifacts/arm64";

// The four hardware profiles the host ships (hw-profiles/); `fsm2-edge profiles` must list each (PF-18, PF-19).
var expectedProfiles = new[] { "arm64-gateway", "arm64-small", "x64-gateway", "x64-server" };

// Under the CI target, a failing Test, BenchSmoke, Aot or Arm64Smoke must not hide the others: each records its failure
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

// ---------------------------------------------------------------------------------------------------------------
// Native AOT (PF-19, TC-06) and the ARM64 smoke (PF-18): shared/spec/80-toolchain.md sections 6, 9 and 10.

// Matches an MSBuild/ILC diagnostic line with an IL code: "... : warning IL2026: ..." or "... : error IL3050: ...".
var ilDiagnostic = new System.Text.RegularExpressions.Regex(@"\b(?<kind>warning|error) (?<code>IL\d{4})\b");

// The verdict of the Aot target on a publish log. The only IL lines allowed are Fluid's two per-assembly summaries,
// IL2104 (trim) and IL3053 (AOT), as warnings (the host csproj keeps them from being errors under PublishAot). Any
// other "warning IL" or "error IL" line is a violation: one of our own assemblies, or another package, is not
// trim/AOT-clean. MSBuild repeats each diagnostic in its closing summary, so identical lines count once.
(List<string> Allowed, List<string> Violations) ScanAotLog(IEnumerable<string> lines)
{
    var allowed = new List<string>();
    var violations = new List<string>();
    var seen = new HashSet<string>(StringComparer.Ordinal);
    foreach (var raw in lines)
    {
        var line = (raw ?? string.Empty).Trim();
        var match = ilDiagnostic.Match(line);
        if (!match.Success || !seen.Add(line))
        {
            continue;
        }

        var code = match.Groups["code"].Value;
        var fluidSummary = match.Groups["kind"].Value == "warning"
            && (code == "IL2104" || code == "IL3053")
            && line.Contains("Assembly 'Fluid' produced", StringComparison.Ordinal);
        (fluidSummary ? allowed : violations).Add(line);
    }

    return (allowed, violations);
}

// Runs a process with stdout and stderr captured line by line (and echoed), writes them to logFile when given, and
// kills the process if it outlives the timeout. Returns the exit code and the lines.
(int ExitCode, List<string> Lines) RunCaptured(string tool, ProcessArgumentBuilder arguments, TimeSpan timeout, string logFile = null)
{
    var lines = new List<string>();
    Func<string, string> collect = line =>
    {
        if (line is not null)
        {
            lock (lines)
            {
                lines.Add(line);
            }

            Console.WriteLine(line);
        }

        return line;
    };

    Information($"{tool} {arguments.Render()}");
    int exitCode;
    using (var process = StartAndReturnProcess(tool, new ProcessSettings
    {
        Arguments = arguments,
        EnvironmentVariables = dotnetEnvironment,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        RedirectedStandardOutputHandler = collect,
        RedirectedStandardErrorHandler = collect,
    }))
    {
        if (!process.WaitForExit((int)timeout.TotalMilliseconds))
        {
            process.Kill();
            throw new CakeException($"{tool} did not finish within {timeout.TotalSeconds:0} s and was stopped");
        }

        exitCode = process.GetExitCode();
    }

    if (logFile is not null)
    {
        EnsureDirectoryExists(System.IO.Path.GetDirectoryName(logFile));
        lock (lines)
        {
            System.IO.File.WriteAllLines(logFile, lines);
        }
    }

    return (exitCode, lines);
}

// `fsm2-edge profiles` prints one row per profile, "<mark> <name> <arch> ...", the mark being "*" or a space.
// Throws unless every expected profile has a row.
void RequireProfiles(IReadOnlyList<string> output)
{
    var missing = expectedProfiles
        .Where(name => !output.Any(line => line.Length > 2
            && (line[0] == '*' || line[0] == ' ')
            && line.Substring(2).StartsWith(name + " ", StringComparison.Ordinal)))
        .ToList();
    if (missing.Count > 0)
    {
        throw new CakeException($"profiles did not list {string.Join(", ", missing)}");
    }
}

void InstallDeps(string group)
{
    var exitCode = StartProcess("bash", new ProcessSettings { Arguments = new ProcessArgumentBuilder().Append(".ci/install-deps").Append(group) });
    if (exitCode != 0)
    {
        throw new CakeException($".ci/install-deps {group} exited with code {exitCode}");
    }
}

void Checked(string name, string id, Func<string> body)
{
    Deferrable(name, () =>
    {
        try
        {
            var detail = body();
            Check($"PASS {name} ({id}) {detail}");
        }
        catch (Exception ex)
        {
            Check($"FAIL {name} ({id}) {ex.Message}");
            throw;
        }
    });
}

Task("AotLogScan")
    .Description("TC-06: the Aot log scan fails on an IL warning in an Fsm2.Edge assembly and passes Fluid's IL2104/IL3053; "
        + "prints 'check: PASS|FAIL aot-log-scan (TC-06)'.")
    .Does(() =>
    {
        // Synthetic publish-log lines, shaped as ILC and MSBuild print them, fed to the same ScanAotLog the Aot
        // target uses: a second, deliberately broken publish would cost half a minute of CI for the same proof.
        const string fluid = "/root/.nuget/packages/fluid.core/2.41.1/lib/net10.0/Fluid.dll";
        const string project = " [/src/Fsm2.Edge.Host/Fsm2.Edge.Host.csproj]";
        var fluidSummaries = new[]
        {
            $"{fluid} : warning IL2104: Assembly 'Fluid' produced trim warnings. For more information see https://aka.ms/il2104{project}",
            $"{fluid} : warning IL3053: Assembly 'Fluid' produced AOT analysis warnings.{project}",
        };
        var ownWarning = "/src/Fsm2.Edge/Config/ConfigLoader.cs(42): warning IL2026: Fsm2.Edge.Config.ConfigLoader.Load(String): "
            + "Using member 'System.Text.Json.JsonSerializer.Deserialize<T>(String, JsonSerializerOptions)' which has "
            + "'RequiresUnreferencedCodeAttribute' can break functionality when trimming application code." + project;
        var ownError = "ILC : Trim analysis error IL2075: Fsm2.Edge.Workers.WorkerFactory.Create(Type): 'this' argument does not "
            + "satisfy 'DynamicallyAccessedMemberTypes.PublicConstructors'." + project;
        var otherSummary = "/root/.nuget/packages/yamldotnet/18.1.0/lib/net8.0/YamlDotNet.dll : warning IL2104: "
            + "Assembly 'YamlDotNet' produced trim warnings." + project;

        Checked("aot-log-scan", "TC-06", () =>
        {
            var problems = new List<string>();
            void Expect(string label, IEnumerable<string> log, int allowed, int violations)
            {
                var (a, v) = ScanAotLog(log);
                if (a.Count != allowed || v.Count != violations)
                {
                    problems.Add($"{label}: {a.Count} allowed/{v.Count} violations, expected {allowed}/{violations}");
                }
            }

            // Fluid's two summaries, each repeated in MSBuild's closing summary: the publish passes.
            Expect("fluid summaries", fluidSummaries.Concat(new[] { "Build succeeded." }).Concat(fluidSummaries), 2, 0);
            // One IL warning (or error) in an Fsm2.Edge assembly next to them: the publish fails.
            Expect("Fsm2.Edge IL2026 warning", fluidSummaries.Append(ownWarning), 2, 1);
            Expect("Fsm2.Edge IL2075 error", fluidSummaries.Append(ownError), 2, 1);
            // The exemption is Fluid's only: the same summary code from another assembly fails.
            Expect("YamlDotNet IL2104", fluidSummaries.Append(otherSummary), 2, 1);
            // Fluid's summary as an error (the host's WarningsNotAsErrors missing) fails too.
            Expect("Fluid IL2104 as error", new[] { fluidSummaries[0].Replace("warning IL2104", "error IL2104") }, 0, 1);
            if (problems.Count > 0)
            {
                throw new CakeException(string.Join("; ", problems));
            }

            return "IL2026/IL2075 in Fsm2.Edge, another assembly's IL2104 and Fluid's IL2104 as an error fail; Fluid's IL2104/IL3053 warnings pass";
        });
    });

Task("Aot")
    .Description("PF-19/TC-06: Native AOT publish of the host for linux-x64 to artifacts/aot-x64; fails on any IL warning but "
        + "Fluid's IL2104/IL3053, then runs `fsm2-edge profiles`; prints 'check: PASS|FAIL aot (PF-19)'.")
    .IsDependentOn("AotLogScan")
    .Does(() =>
    {
        Checked("aot", "PF-19", () =>
        {
            InstallDeps("aot");
            if (DirectoryExists(AotOutput))
            {
                DeleteDirectory(AotOutput, new DeleteDirectorySettings { Recursive = true, Force = true });
            }

            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var (exitCode, lines) = RunCaptured("dotnet", new ProcessArgumentBuilder()
                .Append("publish").AppendQuoted(HostProject)
                .Append("-c").Append("Release")
                .Append("-r").Append("linux-x64")
                .Append("-p:PublishAot=true")
                .Append("-o").AppendQuoted(AotOutput), TimeSpan.FromMinutes(10), "artifacts/aot-x64.publish.log");
            var publishSeconds = stopwatch.Elapsed.TotalSeconds;
            var (allowed, violations) = ScanAotLog(lines);
            foreach (var line in violations)
            {
                Error($"aot: IL diagnostic not allowed: {line}");
            }

            if (violations.Count > 0)
            {
                throw new CakeException($"{violations.Count} IL warning/error line(s) besides Fluid's IL2104/IL3053 "
                    + $"(log artifacts/aot-x64.publish.log), first: {violations[0]}");
            }

            if (exitCode != 0)
            {
                throw new CakeException($"dotnet publish exited with code {exitCode} (log artifacts/aot-x64.publish.log)");
            }

            var binary = $"{AotOutput}/fsm2-edge";
            if (!FileExists(binary))
            {
                throw new CakeException($"{binary} was not produced");
            }

            var (runExit, output) = RunCaptured(binary, new ProcessArgumentBuilder().Append("profiles"), TimeSpan.FromSeconds(30));
            if (runExit != 0)
            {
                throw new CakeException($"fsm2-edge profiles exited with code {runExit}");
            }

            RequireProfiles(output);
            var megabytes = new System.IO.FileInfo(binary).Length / (1024.0 * 1024.0);
            return FormattableString.Invariant($"binary {megabytes:0.0} MB, {allowed.Count} IL warnings (Fluid IL2104/IL3053 only), ")
                + FormattableString.Invariant($"{expectedProfiles.Length} profiles, publish {publishSeconds:0} s");
        });
    });

Task("Arm64Smoke")
    .Description("PF-18: self-contained linux-arm64 publish of the host to artifacts/arm64, `fsm2-edge profiles` under "
        + "qemu-aarch64-static; prints 'check: PASS|FAIL arm64-smoke (PF-18)'.")
    .Does(() =>
    {
        Checked("arm64-smoke", "PF-18", () =>
        {
            // qemu-user-static and the ARM64 cross runtimes, only when missing. binfmt_misc is not mounted on
            // project machines, so the binary is always run through qemu explicitly (80-toolchain section 9).
            InstallDeps("arm64");
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var (exitCode, _) = RunCaptured("dotnet", new ProcessArgumentBuilder()
                .Append("publish").AppendQuoted(HostProject)
                .Append("-c").Append("Release")
                .Append("-r").Append("linux-arm64")
                .Append("--self-contained")
                .Append("-o").AppendQuoted(Arm64Output), TimeSpan.FromMinutes(10), "artifacts/arm64.publish.log");
            var publishSeconds = stopwatch.Elapsed.TotalSeconds;
            if (exitCode != 0)
            {
                throw new CakeException($"dotnet publish -r linux-arm64 exited with code {exitCode} (log artifacts/arm64.publish.log)");
            }

            stopwatch.Restart();
            var (runExit, output) = RunCaptured("qemu-aarch64-static", new ProcessArgumentBuilder()
                .Append("-L").Append("/usr/aarch64-linux-gnu")
                .AppendQuoted($"{Arm64Output}/fsm2-edge")
                .Append("profiles"), TimeSpan.FromMinutes(2));
            var runSeconds = stopwatch.Elapsed.TotalSeconds;
            if (runExit != 0)
            {
                throw new CakeException($"fsm2-edge profiles under qemu exited with code {runExit}");
            }

            RequireProfiles(output);
            return FormattableString.Invariant(
                $"{expectedProfiles.Length} profiles under qemu-aarch64-static in {runSeconds:0.0} s, publish {publishSeconds:0} s");
        });
    });

Task("CI")
    .Description("Test, BenchSmoke, LatencyChecks, Aot and Arm64Smoke; fails at the end if any failed.")
    .IsDependentOn("Test")
    .IsDependentOn("BenchSmoke")
    .IsDependentOn("LatencyChecks")
    .IsDependentOn("Aot")
    .IsDependentOn("Arm64Smoke")
    .Does(() =>
    {
        if (deferredFailures.Count > 0)
        {
            throw new CakeException("CI failed: " + string.Join(", ", deferredFailures));
        }
    });

RunTarget(target);
