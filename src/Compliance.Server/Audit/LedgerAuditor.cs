using Compliance.Domain.Ledger;
using Compliance.Storage;

namespace Compliance.Server.Audit;

/// <summary>Signs chain heads and verifies chains against the signed checkpoints.</summary>
internal sealed class LedgerAuditor(IComplianceStore store, LedgerKeys keys, TimeProvider clock)
{
    /// <summary>How the problems that stop signing begin (the checkpoint service tells them from other failures by it).</summary>
    public const string ProblemPrefix = "Ledger of lender";

    /// <summary>The last position this process signed per lender: a checkpoint table that shrinks below it was tampered with.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _signed = new();

    /// <summary>
    /// Signs the head of every lender's chain that moved since its last checkpoint; returns how many were signed.
    /// A head is signed only if the entries since the last checkpoint link to it, so a chain rewritten or cut in the
    /// database is never blessed by a new signature; such a lender is reported, not signed.
    /// </summary>
    public async Task<int> CheckpointAsync(CancellationToken ct)
    {
        var signed = 0;
        var problems = new List<string>();
        foreach (var lender in await store.LedgerLendersAsync(ct))
        {
            var head = await store.HeadAsync(lender, ct);
            var checkpoints = await store.CheckpointsAsync(lender, ct);
            var lastSigned = checkpoints.Count == 0 ? null : checkpoints[^1];
            if (head is null || (lastSigned is not null && lastSigned.Seq >= head.Seq))
            {
                continue;
            }

            if (_signed.TryGetValue(lender, out var known) && (lastSigned?.Seq ?? 0) < known)
            {
                problems.Add($"{ProblemPrefix} {lender}: checkpoints up to entry {known} were signed but the newest stored one is {lastSigned?.Seq ?? 0}; refusing to sign until an auditor has looked.");
                continue;
            }

            var from = lastSigned is null ? LedgerChain.Start(lender) : new LedgerHead(lastSigned.Seq, lastSigned.Hash);
            var stretch = Verify(lender, from, head.Seq, [], head.Seq, ct);
            if (!stretch.Valid || stretch.EntriesChecked != head.Seq - from.Seq)
            {
                problems.Add($"{ProblemPrefix} {lender} does not verify since its last checkpoint ({stretch.Reason}); refusing to sign its head.");
                continue;
            }

            await store.AddCheckpointAsync(CheckpointSignature.Sign(keys.Signer, lender, head.Seq, head.Hash, clock.GetUtcNow(), anchor: false), ct);
            _signed[lender] = head.Seq;
            signed++;
        }

        return problems.Count == 0 ? signed : throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
    }

    /// <summary>
    /// Verifies the lender's chain from its trusted start (the genesis, or the latest signed purge anchor) through the
    /// last entry recorded before <paramref name="to"/>. The start never depends on which entries survive, so removing
    /// a stretch of old entries is detected like any other removal; <paramref name="from"/> only says which period the
    /// caller cares about (entries before it are verified too, because the chain links through them).
    /// </summary>
    public async Task<VerifyResult> VerifyAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var range = await store.SeqRangeAsync(lenderId, from, to, ct);
        var checkpoints = await store.CheckpointsAsync(lenderId, ct);
        var chainEnd = await store.MaxSeqAsync(lenderId, ct);
        var last = range?.Last ?? chainEnd;

        var start = LedgerChain.Start(lenderId);
        foreach (var anchor in checkpoints.Where(c => c.Anchor).OrderBy(c => c.Seq))
        {
            if (!CheckpointSignature.Verify(keys.Verifier, anchor))
            {
                return VerifyResult.Bad(0, 0, anchor.Seq, $"the purge anchor at entry {anchor.Seq} has an invalid signature");
            }

            start = new LedgerHead(anchor.Seq, anchor.Hash);
        }

        var later = checkpoints.Where(c => c.Seq > start.Seq && !c.Anchor).ToList();
        return Verify(lenderId, start, last, later, chainEnd, ct);
    }

    /// <summary>
    /// Verifies the entries after <paramref name="start"/> through <paramref name="last"/>; event batches are checked
    /// against the event log they vouch for (see <see cref="EventBatchCheck"/>).
    /// </summary>
    private VerifyResult Verify(string lenderId, LedgerHead start, long last, IReadOnlyList<Checkpoint> checkpoints, long chainEnd, CancellationToken ct) =>
        new LedgerVerifier(keys.Verifier).Verify(start, store.EntriesAsync(lenderId, start.Seq + 1, last, ct).ToBlockingEnumerable(ct), checkpoints, chainEnd,
            entry => EventBatchCheck.Problem(store, entry, ct) ?? ReportCheck.Problem(store, entry, ct));
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
        catch (InvalidOperationException e) when (e.Message.StartsWith(LedgerAuditor.ProblemPrefix, StringComparison.Ordinal))
        {
            logger.LogCritical("{Problem}", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Signing ledger checkpoints failed; will retry.");
        }
    }
}
