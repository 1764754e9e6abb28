using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Esp.Tests.Infrastructure;

/// <summary>A private test CA and a server certificate it signed, made in memory.</summary>
internal sealed class TestCertificates : IDisposable
{
    private TestCertificates(X509Certificate2 authority, X509Certificate2 server)
    {
        Authority = authority;
        Server = server;
    }

    /// <summary>The CA (public part only).</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>The server's certificate with its private key, for <c>localhost</c>, <c>127.0.0.1</c> and <paramref name="extraName"/>.</summary>
    public X509Certificate2 Server { get; }

    public static TestCertificates Create(string extraName = "bookstore.test")
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=ESP Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddDnsName(extraName);
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        using var signed = request.Create(ca, now.AddDays(-1), now.AddDays(30), serial);
        var server = signed.CopyWithPrivateKey(serverKey);
        // Round-trip through PKCS#12 so SslStream gets a key it can use on every platform.
        var pfx = X509CertificateLoader.LoadPkcs12(server.Export(X509ContentType.Pkcs12), null);
        server.Dispose();
        return new TestCertificates(X509CertificateLoader.LoadCertificate(ca.RawData), pfx);
    }

    /// <summary>Writes the CA, the server certificate and its key as PEM files (for peers and CLIs).</summary>
    public (string CaPath, string CertPath, string KeyPath) WritePem(string directory)
    {
        Directory.CreateDirectory(directory);
        var caPath = Path.Combine(directory, "ca.pem");
        var certPath = Path.Combine(directory, "server.crt");
        var keyPath = Path.Combine(directory, "server.key");
        File.WriteAllText(caPath, Authority.ExportCertificatePem());
        File.WriteAllText(certPath, Server.ExportCertificatePem());
        File.WriteAllText(keyPath, Server.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (caPath, certPath, keyPath);
    }

    public void Dispose()
    {
        Authority.Dispose();
        Server.Dispose();
    }
}
