using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RawSse.Tests;

/// <summary>
/// A throwaway certificate for 127.0.0.1 and localhost, written as the two PEM files nginx's <c>ssl_certificate</c> and
/// <c>ssl_certificate_key</c> read. Made with .NET, so the tests need no openssl.
/// </summary>
internal static class SelfSignedCertificate
{
    /// <summary>Writes <c>fullchain.pem</c> and <c>privkey.pem</c> into <paramref name="folder"/> and returns their paths.</summary>
    public static (string CertificatePath, string KeyPath) WritePem(string folder)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=RawSse test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        string certificatePath = Path.Combine(folder, "fullchain.pem");
        string keyPath = Path.Combine(folder, "privkey.pem");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certificatePath, keyPath);
    }
}
