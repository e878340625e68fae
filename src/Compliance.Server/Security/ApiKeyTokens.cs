using System.Security.Cryptography;
using System.Text;

namespace Compliance.Server.Security;

/// <summary>
/// API key tokens look like "cmp_&lt;key id&gt;_&lt;secret&gt;". The key id finds the stored key; only a SHA-256 of
/// the secret is stored. Secrets are 256 random bits, so a fast hash is enough (no dictionary to attack).
/// </summary>
internal static class ApiKeyTokens
{
    private const string Prefix = "cmp_";

    public static (string KeyId, string Token, string SecretHash) Generate()
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (keyId, $"{Prefix}{keyId}_{secret}", HashSecret(secret));
    }

    public static bool TryParse(string token, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (!token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var separator = token.IndexOf('_', Prefix.Length);
        if (separator < 0)
        {
            return false;
        }

        keyId = token[Prefix.Length..separator];
        secret = token[(separator + 1)..];
        return keyId.Length > 0 && secret.Length > 0;
    }

    public static string HashSecret(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Compares two hex hashes in constant time.</summary>
    public static bool HashesEqual(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

}
