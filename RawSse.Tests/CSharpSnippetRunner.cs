using System.Security;

namespace RawSse.Tests;

/// <summary>
/// Compiles a README C# block as the Program.cs of a fresh console project (what <c>dotnet new console</c> makes:
/// implicit usings on) that references RawSse/RawSse.csproj, then runs it. The project lives in a temp folder,
/// outside the repository, so none of the repository's build settings help the snippet compile.
/// </summary>
internal static class CSharpSnippetRunner
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    // The configuration the tests were built in, so RawSse itself is already up to date and is not built again.
    private const string Configuration = "Release";
#endif

    /// <summary>The result: whether it built and ran to exit code 0, and what the build or the run printed.</summary>
    public static async Task<(bool Ok, string Output)> RunAsync(string program, TimeSpan buildTimeout, TimeSpan runTimeout)
    {
        var folder = Directory.CreateTempSubdirectory("rawsse-snippet-");
        try
        {
            string project = Path.Combine(RepoPaths.Root, "RawSse", "RawSse.csproj");
            File.WriteAllText(Path.Combine(folder.FullName, "Snippet.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <ProjectReference Include="{SecurityElement.Escape(project)}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(folder.FullName, "Program.cs"), program);
            var environment = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" };

            using (var build = ChildProcess.Start("dotnet", ["build", folder.FullName, "-c", Configuration, "-nologo", "-v:q", "-clp:NoSummary"], environment))
            {
                if (!await build.WaitForExitAsync(buildTimeout))
                {
                    return (false, $"the build took more than {buildTimeout.TotalSeconds} s: {build.Output}");
                }

                if (build.ExitCode != 0)
                {
                    return (false, $"the build failed: {build.Output}{build.Error}");
                }
            }

            string dll = Path.Combine(folder.FullName, "bin", Configuration, "net10.0", "Snippet.dll");
            using var run = ChildProcess.Start("dotnet", [dll], environment);
            if (!await run.WaitForExitAsync(runTimeout))
            {
                return (false, $"still running after {runTimeout.TotalSeconds} s: {run.Output}");
            }

            return (run.ExitCode == 0, $"exit code {run.ExitCode}: {run.Output}{run.Error}");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
