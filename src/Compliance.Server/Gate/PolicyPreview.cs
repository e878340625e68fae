using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Storage;

namespace Compliance.Server.Gate;

/// <summary>What replaying a period's recorded gate decisions under a candidate policy changes.</summary>
internal sealed record PreviewResult(long Replayed, long NewlyDenied, long NewlyAllowed, IReadOnlyDictionary<string, long> NewlyDeniedByRule);

/// <summary>
/// Replays the gate decisions recorded in a period under the policy in force and under a candidate, each against the
/// history the gate saw then (the attempts before it), and counts the contacts whose answer the candidate changes.
/// Both see the same inputs (accounts as they are now, the profiles as they are now), so only the document's change
/// is counted, not what changed in the registry or the built-in profiles since; decisions the gate could not make
/// (failed closed) are skipped.
/// </summary>
internal sealed class PolicyPreview(IComplianceStore store, AccountCache accounts)
{
    public const int MaxDecisions = 100_000;

    public async Task<PreviewResult> RunAsync(string lenderId, CompiledPolicy inForce, CompiledPolicy candidate, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var decisions = await store.DecisionsAsync(lenderId, from, to, MaxDecisions, ct);
        var histories = new Dictionary<string, IReadOnlyList<Attempt>>(StringComparer.Ordinal);
        long replayed = 0, denied = 0, allowed = 0;
        var byRule = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var d in decisions.Where(d => !d.FailedClosed))
        {
            var account = await accounts.AccountAsync(lenderId, d.AccountId, ct);
            var collector = await accounts.CollectorAsync(lenderId, d.CollectorId, ct);
            if (account is null || collector is null)
            {
                continue;
            }

            if (!histories.TryGetValue(account.BorrowerId, out var history))
            {
                history = await store.HistoryAsync(lenderId, account.BorrowerId, from - (candidate.Lookback > inForce.Lookback ? candidate.Lookback : inForce.Lookback), ct);
                histories[account.BorrowerId] = history;
            }

            var before = history.Where(a => a.At < d.EvaluatedAt).ToList();
            var destination = DestinationResolver.ByHash(account, d.DestinationHash).Destination;
            // As the gate asks: with the borrower's accounts where a rule counts across them, the collector as active then.
            var borrowerAccounts = inForce.CountsAcrossDebts(account, destination.Class) || candidate.CountsAcrossDebts(account, destination.Class)
                ? await accounts.BorrowerAccountsAsync(lenderId, account.BorrowerId, ct)
                : null;
            var contact = ContactCandidate.For(account, collector, d.Channel, d.Purpose, destination, d.EvaluatedAt, borrowerAccounts);
            var current = inForce.Evaluate(contact, before, findNext: false);
            var result = candidate.Evaluate(contact, before, findNext: false);
            replayed++;
            if (current.Allowed && !result.Allowed)
            {
                denied++;
                foreach (var hit in result.Hits.Where(h => !h.Shadow))
                {
                    byRule[hit.RuleId] = byRule.GetValueOrDefault(hit.RuleId) + 1;
                }
            }
            else if (!current.Allowed && result.Allowed)
            {
                allowed++;
            }
        }

        return new PreviewResult(replayed, denied, allowed, byRule);
    }
}
