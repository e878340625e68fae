using System.Security.Cryptography;

namespace Compliance.Domain.Ledger;

/// <summary>
/// SHA-256 through one hash object per thread, reset after each use. The one-shot SHA256.HashData creates and frees
/// OpenSSL's digest state on every call, which costs about a third of hashing a leaf or a node, and the ingest hashes
/// two of those per event.
/// </summary>
public static class ReusedSha256
{
    [ThreadStatic]
    private static IncrementalHash? t_hash;

    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var hash = t_hash ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            hash.AppendData(data);
            return hash.GetHashAndReset();
        }
        catch
        {
            // A failure may leave part of the input in the object: the thread's next hash starts from a new one.
            t_hash = null;
            hash.Dispose();
            throw;
        }
    }
}
