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
    private readonly byte[] _key;

    public ContactHasher(byte[] key)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("The contact hash key must be at least 32 bytes.", nameof(key));
        }

        _key = key.ToArray();
    }

    public string Hash(ContactPointKind kind, string canonical)
    {
        Span<byte> mac = stackalloc byte[32];
        var input = Encoding.UTF8.GetBytes($"{(int)kind}:{canonical}");
        HMACSHA256.HashData(_key, input, mac);
        return Convert.ToHexStringLower(mac[..16]);
    }

    public string Hash(NormalizedContact contact) => Hash(contact.Kind, contact.Canonical);
}
