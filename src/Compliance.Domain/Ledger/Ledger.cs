using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Compliance.Domain.Ledger;

/// <summary>What a ledger entry records.</summary>
public enum LedgerKind
{
    Unspecified = 0,
    Decision = 1,
    Event = 2,
    PolicyVersion = 3,
    FlagSet = 4,
    FlagCleared = 5,
    Complaint = 6,
    ComplaintStatus = 7,
    EvidenceRead = 8,
    AccountChanged = 9,
    /// <summary>One group commit of events: the Merkle root of their hashes (see <see cref="MerkleTree"/>).</summary>
    EventBatch = 10,
    /// <summary>An issued report: its kind, period, the position it was built up to and the SHA-256 of its content.</summary>
    Report = 11,
    /// <summary>Rows stored before rows were bound to the chain (schema 14), bound once at the upgrade: a list of <see cref="RowRef"/>.</summary>
    RowsBound = 12,
}

/// <summary>
/// One entry of a lender's hash chain. <see cref="Payload"/> is the recorded fact as canonical JSON; the hash covers
/// the previous hash and every other field, so changing, removing or reordering entries breaks the chain.
/// </summary>
public sealed record LedgerEntry(
    string LenderId,
    long Seq,
    LedgerKind Kind,
    string RefId,
    string AccountId,
    DateTimeOffset RecordedAt,
    string Payload,
    byte[] PrevHash,
    byte[] Hash);

/// <summary>The end of a lender's chain: the next entry links to it.</summary>
public sealed record LedgerHead(long Seq, byte[] Hash);

/// <summary>
/// A signed statement "the lender's chain had hash H at position Seq". Auditors hold the verification key, so a
/// rewritten chain (new hashes) or a cut tail (a checkpoint past the end) is detected. A purge leaves an anchor
/// checkpoint at the last removed position, from which the remaining entries still verify.
/// </summary>
public sealed record Checkpoint(string LenderId, long Seq, byte[] Hash, DateTimeOffset SignedAt, bool Anchor, byte[] Signature);

/// <summary>The chain's hashing: SHA-256 over a fixed, length-prefixed layout, documented so auditors can recompute it.</summary>
public static class LedgerChain
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("compliance-ledger-v1");

    /// <summary>The hash the first entry of a lender links to.</summary>
    public static byte[] Genesis(string lenderId) => SHA256.HashData(Encoding.UTF8.GetBytes($"compliance-ledger-v1:genesis:{lenderId}"));

    public static LedgerHead Start(string lenderId) => new(0, Genesis(lenderId));

    /// <summary>
    /// SHA-256 of: "compliance-ledger-v1" | prev hash (32) | seq (int64 BE) | kind (int32 BE) | recorded_at ms (int64 BE) |
    /// lender, ref id, account id, payload as UTF-8, each prefixed by its byte length (int32 BE).
    /// </summary>
    public static byte[] Hash(byte[] prevHash, long seq, LedgerKind kind, DateTimeOffset recordedAt, string lenderId, string refId, string accountId, string payload)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        hash.AppendData(Domain);
        hash.AppendData(prevHash);
        BinaryPrimitives.WriteInt64BigEndian(number, seq);
        hash.AppendData(number);
        BinaryPrimitives.WriteInt32BigEndian(number, (int)kind);
        hash.AppendData(number[..4]);
        BinaryPrimitives.WriteInt64BigEndian(number, recordedAt.ToUnixTimeMilliseconds());
        hash.AppendData(number);
        foreach (var text in new[] { lenderId, refId, accountId, payload })
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            BinaryPrimitives.WriteInt32BigEndian(number, bytes.Length);
            hash.AppendData(number[..4]);
            hash.AppendData(bytes);
        }

        return hash.GetHashAndReset();
    }

    /// <summary>The entry that follows <paramref name="head"/>.</summary>
    public static LedgerEntry Next(LedgerHead head, string lenderId, LedgerKind kind, string refId, string accountId, DateTimeOffset recordedAt, string payload)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(recordedAt.ToUnixTimeMilliseconds());
        var seq = head.Seq + 1;
        return new LedgerEntry(lenderId, seq, kind, refId, accountId, at, payload, head.Hash, Hash(head.Hash, seq, kind, at, lenderId, refId, accountId, payload));
    }

    public static byte[] Recompute(LedgerEntry e) => Hash(e.PrevHash, e.Seq, e.Kind, e.RecordedAt, e.LenderId, e.RefId, e.AccountId, e.Payload);
}

/// <summary>Signs and checks checkpoints with ECDSA P-256 over SHA-256.</summary>
public static class CheckpointSignature
{
    public static byte[] Message(string lenderId, long seq, byte[] hash, DateTimeOffset signedAt, bool anchor) =>
        Encoding.UTF8.GetBytes($"compliance-checkpoint-v1|{lenderId}|{seq}|{Convert.ToHexStringLower(hash)}|{signedAt.ToUnixTimeMilliseconds()}|{(anchor ? "anchor" : "checkpoint")}");

    public static Checkpoint Sign(ECDsa key, string lenderId, long seq, byte[] hash, DateTimeOffset signedAt, bool anchor)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(signedAt.ToUnixTimeMilliseconds());
        return new Checkpoint(lenderId, seq, hash, at, anchor, key.SignData(Message(lenderId, seq, hash, at, anchor), HashAlgorithmName.SHA256));
    }

    public static bool Verify(ECDsa publicKey, Checkpoint c) =>
        publicKey.VerifyData(Message(c.LenderId, c.Seq, c.Hash, c.SignedAt, c.Anchor), c.Signature, HashAlgorithmName.SHA256);
}

/// <summary>The outcome of a verification: valid, or the first position that does not verify and why.</summary>
public sealed record VerifyResult(bool Valid, long EntriesChecked, long CheckpointsChecked, long FirstBadSeq, string Reason)
{
    public static VerifyResult Bad(long entries, long checkpoints, long seq, string reason) => new(false, entries, checkpoints, seq, reason);
}

/// <summary>
/// Verifies a stretch of a lender's chain: from a trusted start (the genesis, or a signed checkpoint or purge anchor)
/// every entry must follow its predecessor by position and hash and recompute to its stored hash; every checkpoint
/// in the stretch must carry a valid signature and match the entry at its position; and no checkpoint may point past
/// the end of the chain (a cut tail).
/// </summary>
public sealed class LedgerVerifier(ECDsa publicKey)
{
    /// <param name="start">The trusted point the first entry links to: (0, genesis) or a verified checkpoint's (seq, hash).</param>
    /// <param name="entries">The entries after <paramref name="start"/>, in the order the store returns them by position.</param>
    /// <param name="checkpoints">Checkpoints with positions after <paramref name="start"/>, by position.</param>
    /// <param name="chainEnd">The highest position the store holds for the lender (to detect a cut tail).</param>
    /// <param name="contents">For entries that vouch for records kept elsewhere (event batches): checks those records
    /// against the entry and returns why they do not match, or null when they do.</param>
    public VerifyResult Verify(LedgerHead start, IEnumerable<LedgerEntry> entries, IReadOnlyList<Checkpoint> checkpoints, long chainEnd,
        Func<LedgerEntry, string?>? contents = null)
    {
        long count = 0, checkedCheckpoints = 0;
        var expectedSeq = start.Seq + 1;
        var prev = start.Hash;
        var nextCheckpoint = 0;
        foreach (var entry in entries)
        {
            if (entry.Seq != expectedSeq)
            {
                return VerifyResult.Bad(count, checkedCheckpoints, expectedSeq, entry.Seq > expectedSeq
                    ? $"entry {expectedSeq} is missing (the next stored entry is {entry.Seq})"
                    : $"entry {entry.Seq} appears out of order after entry {expectedSeq - 1}");
            }

            if (!CryptographicOperations.FixedTimeEquals(entry.PrevHash, prev))
            {
                return VerifyResult.Bad(count, checkedCheckpoints, entry.Seq, $"entry {entry.Seq} does not link to entry {entry.Seq - 1} (previous hash differs): an entry was removed, replaced or reordered");
            }

            var hash = LedgerChain.Recompute(entry);
            if (!CryptographicOperations.FixedTimeEquals(hash, entry.Hash))
            {
                return VerifyResult.Bad(count, checkedCheckpoints, entry.Seq, $"entry {entry.Seq} ({entry.Kind} {entry.RefId}) was changed after it was recorded: its content no longer matches its hash");
            }

            if (contents?.Invoke(entry) is { } problem)
            {
                return VerifyResult.Bad(count, checkedCheckpoints, entry.Seq, $"entry {entry.Seq} ({entry.Kind} {entry.RefId}): {problem}");
            }

            while (nextCheckpoint < checkpoints.Count && checkpoints[nextCheckpoint].Seq <= entry.Seq)
            {
                var checkpoint = checkpoints[nextCheckpoint++];
                if (!CheckpointSignature.Verify(publicKey, checkpoint))
                {
                    return VerifyResult.Bad(count, checkedCheckpoints, checkpoint.Seq, $"the checkpoint at entry {checkpoint.Seq} has an invalid signature");
                }

                if (checkpoint.Seq == entry.Seq && !CryptographicOperations.FixedTimeEquals(checkpoint.Hash, hash))
                {
                    return VerifyResult.Bad(count, checkedCheckpoints, entry.Seq, $"entry {entry.Seq} differs from the signed checkpoint at that position: the chain was rewritten");
                }

                checkedCheckpoints++;
            }

            prev = hash;
            expectedSeq++;
            count++;
        }

        for (; nextCheckpoint < checkpoints.Count; nextCheckpoint++)
        {
            var checkpoint = checkpoints[nextCheckpoint];
            if (checkpoint.Seq > chainEnd)
            {
                return VerifyResult.Bad(count, checkedCheckpoints, chainEnd + 1,
                    $"a signed checkpoint covers entry {checkpoint.Seq} but the chain ends at entry {chainEnd}: the tail was cut");
            }
        }

        return new VerifyResult(true, count, checkedCheckpoints, 0, "");
    }
}
