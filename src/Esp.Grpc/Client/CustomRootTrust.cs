using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Esp.Grpc.Client;

/// <summary>Certificate validation against a private CA instead of the system's roots.</summary>
internal static class CustomRootTrust
{
    /// <summary>
    /// A callback accepting a certificate that chains to one of <paramref name="roots"/> and has no
    /// other fault (the name must still match).
    /// </summary>
    public static RemoteCertificateValidationCallback Callback(X509Certificate2Collection roots) =>
        (_, certificate, _, errors) => IsTrusted(certificate, errors, roots);

    private static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (certificate is X509Certificate2 leaf)
            return chain.Build(leaf);
        using var loaded = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(loaded);
    }
}
