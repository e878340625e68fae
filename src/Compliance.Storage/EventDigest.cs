using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Compliance.Domain.Ledger;

namespace Compliance.Storage;

/// <summary>
/// The leaf hash of a stored event, over a fixed layout documented for auditors: "compliance-event-v1", then seq
/// (int64 big-endian), kind, channel, purpose, destination class, destination use, outcome, counts, imported (int32
/// BE each), duration ms, occurred ms, received ms, risk score bits (int64 BE each), then lender, event id, account,
/// borrower, collector, decision id, call id, destination hash, masked destination, party, violations JSON and body
/// as UTF-8 prefixed by their byte length (int32 BE; -1 for no body). The leaf is SHA-256(0x00 | layout).
/// </summary>
public static class EventDigest
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("compliance-event-v1");

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    public static byte[] Leaf(StoredEvent e, string violationsJson) => Leaf(e, e.Seq, violationsJson);

    /// <summary>The leaf of <paramref name="e"/> stored at <paramref name="seq"/>.</summary>
    public static byte[] Leaf(StoredEvent e, long seq, string violationsJson)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        buffer.Write([(byte)0]); // the leaf prefix of MerkleTree.Leaf
        buffer.Write(Domain);
        Int64(buffer, seq);
        Int32(buffer, (int)e.Kind);
        Int32(buffer, (int)e.Channel);
        Int32(buffer, (int)e.Purpose);
        Int32(buffer, (int)e.DestinationClass);
        Int32(buffer, (int)e.DestinationUse);
        Int32(buffer, (int)e.Outcome);
        Int32(buffer, (int)e.Counts);
        Int32(buffer, e.Imported ? 1 : 0);
        Int64(buffer, e.DurationMs);
        Int64(buffer, e.OccurredAt.ToUnixTimeMilliseconds());
        Int64(buffer, e.ReceivedAt.ToUnixTimeMilliseconds());
        Int64(buffer, BitConverter.DoubleToInt64Bits(e.RiskScore));
        Text(buffer, e.LenderId);
        Text(buffer, e.EventId);
        Text(buffer, e.AccountId);
        Text(buffer, e.BorrowerId);
        Text(buffer, e.CollectorId);
        Text(buffer, e.DecisionId);
        Text(buffer, e.CallId);
        Text(buffer, e.DestinationHash);
        Text(buffer, e.DestinationMasked);
        Text(buffer, e.PartyId);
        Text(buffer, violationsJson);
        if (e.Body is null)
        {
            Int32(buffer, -1);
        }
        else
        {
            Text(buffer, e.Body);
        }

        return ReusedSha256.Hash(buffer.WrittenSpan);
    }

    private static void Int32(ArrayBufferWriter<byte> buffer, int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    private static void Int64(ArrayBufferWriter<byte> buffer, long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    /// <summary>
    /// Encodes into room for the longest encoding and writes the length in front afterwards: one pass over the text
    /// instead of one to count the bytes and one to write them.
    /// </summary>
    private static void Text(ArrayBufferWriter<byte> buffer, string text)
    {
        var span = buffer.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(text.Length));
        var length = Encoding.UTF8.GetBytes(text, span[4..]);
        BinaryPrimitives.WriteInt32BigEndian(span, length);
        buffer.Advance(4 + length);
    }
}
