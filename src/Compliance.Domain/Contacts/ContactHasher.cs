using System.Security.Cryptography;
using System.Text;
using Compliance.Domain.Registry;

namespace Compliance.Domain.Contacts;

/// <summary>
/// Keyed hash of a normalised contact value. Equal values hash equally within one deployment, so
/// destinations can be matched against registered contact points without storing the numbers; without the
/// key the hashes cannot be reversed by enumerating the (small) space of phone numbers.
/// </summary>
public sealed class ContactHasher
{
    private const int MaxStackInput = 256;

    private readonly byte[] _key;
    // One keyed HMAC per thread, reset after each hash: the one-shot HMACSHA256.HashData sets up and frees the key's
    // state in OpenSSL on every call, which cost twice the hash itself, once per ingested contact.
    private readonly ThreadLocal<IncrementalHash> _hmac;

    public ContactHasher(byte[] key)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("The contact hash key must be at least 32 bytes.", nameof(key));
        }

        _key = key.ToArray();
        _hmac = new ThreadLocal<IncrementalHash>(NewHmac);
    }

    public string Hash(ContactPointKind kind, string canonical)
    {
        Span<byte> mac = stackalloc byte[32];
        // The input is "kind:canonical" in UTF-8, written where it is hashed rather than built as a string.
        var length = 11 + Encoding.UTF8.GetMaxByteCount(canonical.Length);
        var input = length <= MaxStackInput ? stackalloc byte[MaxStackInput] : new byte[length];
        ((int)kind).TryFormat(input, out var written, provider: System.Globalization.CultureInfo.InvariantCulture);
        input[written++] = (byte)':';
        written += Encoding.UTF8.GetBytes(canonical, input[written..]);
        var hmac = _hmac.Value!;
        try
        {
            hmac.AppendData(input[..written]);
            hmac.GetHashAndReset(mac);
        }
        catch
        {
            // A failure may leave part of the input in the object: the thread's next hash starts from a new one.
            _hmac.Value = NewHmac();
            hmac.Dispose();
            throw;
        }

        return Convert.ToHexStringLower(mac[..16]);
    }

    public string Hash(NormalizedContact contact) => Hash(contact.Kind, contact.Canonical);

    private IncrementalHash NewHmac() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
}
