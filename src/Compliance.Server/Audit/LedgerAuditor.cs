using Compliance.Domain.Ledger;
using Compliance.Storage;

namespace Compliance.Server.Audit;

/// <summary>Signs chain heads and verifies chains against the signed checkpoints.</summary>
internal sealed class LedgerAuditor(ILedgerStore store, LedgerKeys keys, TimeProvider clock)
{
    /// <summary>Signs the head of every lender's chain that moved since its last checkpoint; returns how many were signed.</summary>
    public async Task<int> CheckpointAsync(CancellationToken ct)
    {
        var signed = 0;
        foreach (var lender in await store.LedgerLendersAsync(ct))
        {
            var head = await store.HeadAsync(lender, ct);
            var checkpoints = await store.CheckpointsAsync(lender, ct);
            if (head is null || (checkpoints.Count > 0 && checkpoints[^1].Seq >= head.Seq))
            {
                continue;
            }

            await store.AddCheckpointAsync(CheckpointSignature.Sign(keys.Signer, lender, head.Seq, head.Hash, clock.GetUtcNow(), anchor: false), ct);
            signed++;
        }

        return signed;
    }

    /// <summary>Verifies the lender's chain over the entries recorded in [from, to), starting from the nearest trusted point before them.</summary>
    public async Task<VerifyResult> VerifyAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var range = await store.SeqRangeAsync(lenderId, from, to, ct);
        var checkpoints = await store.CheckpointsAsync(lenderId, ct);
        var chainEnd = await store.MaxSeqAsync(lenderId, ct);
        var last = range?.Last ?? chainEnd;
        var first = range?.First ?? chainEnd + 1;

        // The start: the latest purge anchor, or a later regular checkpoint before the range, whose signature holds.
        var start = LedgerChain.Start(lenderId);
        foreach (var c in checkpoints.Where(c => c.Seq < first && (c.Anchor || c.Seq >= start.Seq)).OrderBy(c => c.Seq).ThenByDescending(c => c.Anchor))
        {
            if (!CheckpointSignature.Verify(keys.Verifier, c))
            {
                return VerifyResult.Bad(0, 0, c.Seq, $"the {(c.Anchor ? "purge anchor" : "checkpoint")} at entry {c.Seq} has an invalid signature");
            }

            if (c.Anchor || range is not null)
            {
                start = new LedgerHead(c.Seq, c.Hash);
            }
        }

        var later = checkpoints.Where(c => c.Seq > start.Seq && !c.Anchor).ToList();
        return new LedgerVerifier(keys.Verifier).Verify(start, store.EntriesAsync(lenderId, start.Seq + 1, last, ct).ToBlockingEnumerable(ct), later, chainEnd);
    }
}

/// <summary>Signs chain heads at intervals, and once more when the service stops.</summary>
internal sealed class CheckpointService(LedgerAuditor auditor, Microsoft.Extensions.Options.IOptions<Configuration.ComplianceOptions> options, TimeProvider clock,
    ILogger<CheckpointService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Audit.CheckpointInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await SignAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await SignAsync(cancellationToken);
    }

    private async Task SignAsync(CancellationToken ct)
    {
        try
        {
            await auditor.CheckpointAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Signing ledger checkpoints failed; will retry.");
        }
    }
}
