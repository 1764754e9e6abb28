namespace Esp.Tests.Infrastructure;

/// <summary>Where things are in the checkout the tests run from.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Peers => Path.Combine(Root, "tests", "peers");

    public static string Protos => Path.Combine(Root, "tests", "protos");

    public static string Samples => Path.Combine(Root, "samples");

    /// <summary>Debian's interpreter, which has grpcio, PyJWT and google-auth (the first python3 on PATH may not).</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>
    /// The checkout holding the test binary, or else the one this file was compiled from (a build
    /// with its own -p:ArtifactsPath puts the binary outside the checkout).
    /// </summary>
    private static string FindRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Esp.slnx")))
                    return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No Esp.slnx above {AppContext.BaseDirectory} or {sourceFile}.");
    }
}
