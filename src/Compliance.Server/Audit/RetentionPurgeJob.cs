using Compliance.Domain.Ledger;
using Compliance.Domain.Policies;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;
using Quartz;

namespace Compliance.Server.Audit;

/// <summary>
/// Removes the oldest ledger entries once the retention period has passed after the last activity on their account
/// (by default the longest record-keeping period of the profiles: Regulation F's 3 years after the last collection
/// activity on the debt). The chain can only
/// lose a prefix, so the purge stops at the first entry that must stay. Before removing, it signs an anchor at the
/// last removed entry, so the remaining chain still verifies from there and a later cut is still detected.
/// </summary>
[DisallowConcurrentExecution]
internal sealed class RetentionPurgeJob(ILedgerStore store, LedgerKeys keys, LedgerAuditor auditor, IOptions<ComplianceOptions> options, TimeProvider clock, ILogger<RetentionPurgeJob> logger)
    : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) => await PurgeAsync(clock.GetUtcNow(), cancellationToken);

    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken ct)
    {
        var cutoff = now - options.Value.Audit.RetentionPeriod(ProfileCatalog.BuiltIn);
        var removed = 0;
        foreach (var lender in await store.LedgerLendersAsync(ct))
        {
            var lastSeq = await store.LastSeqOfPrefixBeforeAsync(lender, cutoff, ct);
            var last = lastSeq == 0 ? null : await store.EntriesAsync(lender, lastSeq, lastSeq, ct).SingleOrDefaultAsync(ct);
            if (last is null)
            {
                continue;
            }

            var anchor = CheckpointSignature.Sign(keys.Signer, lender, last.Seq, last.Hash, now, anchor: true);
            var count = await store.PurgeAsync(lender, last.Seq, anchor, ct);
            auditor.Witness(anchor);
            removed += count;
            logger.LogInformation("Purged {Count} ledger entries of lender {Lender} recorded before {Cutoff:u}; anchored at entry {Seq}.", count, lender, cutoff, last.Seq);
        }

        return removed;
    }
}
