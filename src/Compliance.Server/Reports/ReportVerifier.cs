using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Compliance.Domain.Ledger;
using Compliance.Server.Audit;
using Compliance.Storage;

namespace Compliance.Server.Reports;

/// <summary>
/// Checks a report against the ledger when it is shown: its entry recomputes to its hash and records the SHA-256 of
/// the content as stored, and the entries from it to the next signed checkpoint link up to that checkpoint's hash.
/// </summary>
internal sealed class ReportVerifier(ILedgerStore ledger, LedgerKeys keys)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private const int MaxWalk = 200_000;

    public async Task<ReportVerification> VerifyAsync(StoredReport report, CancellationToken ct)
    {
        var lender = report.Key.LenderId;
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(report.Content ?? "")));
        var seq = report.LedgerEntry;
        var entry = await ledger.EntriesAsync(lender, seq, seq, ct).SingleOrDefaultAsync(ct);
        if (entry is null)
        {
            return new ReportVerification(false, seq, sha, null, $"Ledger entry {seq}, which should record this report, is missing.");
        }

        var payload = entry.Kind == LedgerKind.Report ? JsonSerializer.Deserialize<ReportLedgerPayload>(entry.Payload, Json) : null;
        if (!CryptographicOperations.FixedTimeEquals(LedgerChain.Recompute(entry), entry.Hash))
        {
            return new ReportVerification(false, seq, sha, null, $"Ledger entry {seq} was changed after it was recorded.");
        }

        if (payload is null || entry.RefId != report.Key.ReportId || payload.ContentSha256 != sha)
        {
            return new ReportVerification(false, seq, sha, null, $"The report's content does not match the SHA-256 recorded in ledger entry {seq}: it was changed after it was issued.");
        }

        var checkpoint = (await ledger.CheckpointsAsync(lender, ct)).Where(c => !c.Anchor && c.Seq >= seq && c.Seq - seq <= MaxWalk).MinBy(c => c.Seq);
        if (checkpoint is null)
        {
            return new ReportVerification(true, seq, sha, null,
                $"Ledger entry {seq} records this content's SHA-256 and recomputes to its hash; no signed checkpoint covers it yet (one follows within the checkpoint interval).");
        }

        var prev = entry.Hash;
        var expected = seq + 1;
        await foreach (var next in ledger.EntriesAsync(lender, seq + 1, checkpoint.Seq, ct))
        {
            if (next.Seq != expected || !CryptographicOperations.FixedTimeEquals(next.PrevHash, prev) || !CryptographicOperations.FixedTimeEquals(LedgerChain.Recompute(next), next.Hash))
            {
                return new ReportVerification(false, seq, sha, checkpoint.Seq, $"The ledger between entry {seq} and the signed checkpoint at entry {checkpoint.Seq} does not link up at entry {expected}.");
            }

            prev = next.Hash;
            expected++;
        }

        var signed = CheckpointSignature.Verify(keys.Verifier, checkpoint) && CryptographicOperations.FixedTimeEquals(prev, checkpoint.Hash);
        return signed
            ? new ReportVerification(true, seq, sha, checkpoint.Seq,
                $"Ledger entry {seq} records this content's SHA-256, and the chain from it links to the checkpoint signed at entry {checkpoint.Seq} ({checkpoint.SignedAt:yyyy-MM-dd HH:mm}Z).")
            : new ReportVerification(false, seq, sha, checkpoint.Seq, $"The checkpoint at entry {checkpoint.Seq} does not match the chain or its signature is invalid.");
    }
}
