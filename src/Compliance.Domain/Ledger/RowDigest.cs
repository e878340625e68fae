using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Compliance.Domain.Ledger;

/// <summary>
/// Where a ledger entry says which stored row it vouches for: the row's table, its key within the lender, and the
/// <see cref="RowDigest"/> of the row's content as written in the same transaction.
/// </summary>
public sealed record RowRef(string Table, string Key, string Hash);

/// <summary>
/// The hash of one stored row, recomputed by the verifier from the columns it reads back, so that a row edited, added or
/// removed outside the service no longer matches the ledger entry that recorded it. Documented so an auditor can
/// recompute it: SHA-256 of "compliance-row-v1" | table | key | for each column in the table's fixed order: the column
/// name, a type tag ('N' null, 'I' integer or boolean, 'R' real, 'S' text) and the value's canonical text (integers
/// and booleans in decimal, 1 for true; reals round-trip; text as stored), every string UTF-8 and prefixed by its byte
/// length (int32 big-endian).
/// </summary>
public static class RowDigest
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("compliance-row-v1");

    /// <summary>The type tag and canonical text of a value as a provider returns or takes it.</summary>
    public static (char Tag, string? Text) Canonical(object? value) => value switch
    {
        null or DBNull => ('N', null),
        string s => ('S', s),
        bool b => ('I', b ? "1" : "0"),
        byte or sbyte or short or ushort or int or uint or long or ulong => ('I', Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)),
        Enum e => ('I', Convert.ToInt64(e, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)),
        double d => ('R', d.ToString("R", CultureInfo.InvariantCulture)),
        float f => ('R', ((double)f).ToString("R", CultureInfo.InvariantCulture)),
        decimal m => ('R', ((double)m).ToString("R", CultureInfo.InvariantCulture)),
        _ => throw new ArgumentException($"A row value of type {value.GetType().Name} has no canonical form.", nameof(value)),
    };

    /// <summary>The row's hash; <paramref name="columns"/> in the table's fixed column order.</summary>
    public static byte[] Hash(string table, string key, IEnumerable<(string Column, object? Value)> columns)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var length = new byte[4];
        hash.AppendData(Domain);
        void Text(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }

        Text(table);
        Text(key);
        foreach (var (column, value) in columns)
        {
            var (tag, text) = Canonical(value);
            Text(column);
            Text(tag.ToString());
            if (text is not null)
            {
                Text(text);
            }
        }

        return hash.GetHashAndReset();
    }
}
