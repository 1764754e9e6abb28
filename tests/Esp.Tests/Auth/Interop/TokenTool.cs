using System.Globalization;
using Esp.Tests.Infrastructure;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Auth.Interop;

/// <summary>
/// tests/peers/tokens.py on Debian's python: keys made with <c>cryptography</c>, tokens made by
/// PyJWT and by google-auth exactly as the Cloud Endpoints sample's jwt_token_gen.py makes them.
/// Nothing here shares code with the proxy.
/// </summary>
internal static class TokenTool
{
    private static string Script => Path.Combine(RepositoryPaths.Peers, "tokens.py");

    /// <summary>A key pair in <paramref name="directory"/>: key.pem, jwks.json, x509.json.</summary>
    public static Task KeygenAsync(string directory, string kid, string kty) =>
        RunAsync("keygen", "--out", directory, "--kid", kid, "--kty", kty);

    /// <summary>A Google service account key file; what Google publishes for it goes to <paramref name="publishDirectory"/>.</summary>
    public static Task ServiceAccountKeyAsync(string email, string keyFile, string publishDirectory) =>
        RunAsync("sa-key", "--email", email, "--out", keyFile, "--publish", publishDirectory);

    /// <summary>A token made by PyJWT's <c>jwt.encode</c>.</summary>
    public static Task<string> PyJwtAsync(string keyPem, string kid, string alg, string issuer, IReadOnlyList<string> audiences,
        string? subject = null, string? email = null, int expiresIn = 3600, string? claimsJson = null)
    {
        List<string> args = ["pyjwt", "--key", keyPem, "--kid", kid, "--alg", alg, "--iss", issuer, "--exp-in", expiresIn.ToString(CultureInfo.InvariantCulture)];
        foreach (var audience in audiences)
            args.AddRange(["--aud", audience]);
        if (subject is not null)
            args.AddRange(["--sub", subject]);
        if (email is not null)
            args.AddRange(["--email", email]);
        if (claimsJson is not null)
            args.AddRange(["--claims", claimsJson]);
        return RunAsync([.. args]);
    }

    /// <summary>
    /// A token made as the sample's jwt_token_gen.py makes it (<c>--file --issuer --audiences</c>).
    /// <paramref name="unpadded"/>: segments without <c>=</c>, as google-auth ≥ 1.6.3 (what the
    /// sample's requirements.txt installs) encodes them; otherwise whatever the installed
    /// google-auth does (Debian's 1.5.1 pads).
    /// </summary>
    public static Task<string> GoogleAuthAsync(string keyFile, string issuer, string audiences, bool unpadded = true) =>
        unpadded
            ? RunAsync("google-auth", "--file", keyFile, "--issuer", issuer, "--audiences", audiences, "--unpadded")
            : RunAsync("google-auth", "--file", keyFile, "--issuer", issuer, "--audiences", audiences);

    private static async Task<string> RunAsync(params string[] arguments)
    {
        var (exitCode, output) = await PeerProcess.RunAsync(RepositoryPaths.Python, [Script, .. arguments]);
        if (exitCode != 0)
            throw new InvalidOperationException($"tokens.py {arguments[0]} failed ({exitCode}):\n{output}");
        // A token is the last line printed (a library warning may come before it).
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
    }
}
