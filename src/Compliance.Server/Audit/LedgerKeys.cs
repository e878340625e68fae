using System.Security.Cryptography;
using Compliance.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Audit;

/// <summary>The checkpoint signing key and the public key auditors verify with.</summary>
internal sealed class LedgerKeys : IDisposable
{
    public LedgerKeys(IOptions<ComplianceOptions> options)
    {
        var audit = options.Value.Audit;
        Signer = ECDsa.Create();
        Signer.ImportFromPem(audit.SigningKey);
        Verifier = ECDsa.Create();
        if (string.IsNullOrWhiteSpace(audit.VerificationKey))
        {
            Verifier.ImportSubjectPublicKeyInfo(Signer.ExportSubjectPublicKeyInfo(), out _);
        }
        else
        {
            Verifier.ImportFromPem(audit.VerificationKey);
        }

        PublicKeyPem = Verifier.ExportSubjectPublicKeyInfoPem();
    }

    public ECDsa Signer { get; }

    public ECDsa Verifier { get; }

    /// <summary>The verification key as PEM, for evidence packs and auditors.</summary>
    public string PublicKeyPem { get; }

    public void Dispose()
    {
        Signer.Dispose();
        Verifier.Dispose();
    }
}
