using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Server.Configuration;
using Compliance.Server.Infrastructure;
using Compliance.Server.Mapping;
using Compliance.Storage;
using Grpc.Core;
using Microsoft.Extensions.Options;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Gate;

/// <summary>
/// The gate before every contact: validates the request, resolves the destination, evaluates the lender's policy
/// against the borrower's history and records the decision. Authorize reserves the attempt under the borrower's
/// lock; Evaluate is a dry run. When the store cannot be reached the gate denies (fails closed).
/// </summary>
internal sealed class ContactGate(
    IComplianceStore store,
    AccountCache accounts,
    PolicyRegistry policies,
    DestinationResolver resolver,
    Ingest.HistoryCache histories,
    IOptions<ComplianceOptions> options,
    TimeProvider clock,
    ILogger<ContactGate> logger,
    Infrastructure.WriteHealth writeHealth,
    Telemetry.ComplianceMetrics metrics)
{
    private const string GateProfile = "GATE";

    /// <summary>How many times the gate reads a borrower's changing registry data before it denies (fails closed).</summary>
    private const int MaxRegistryReads = 4;
    private readonly GateOptions _options = options.Value.Gate;

    /// <summary>A validated request with everything loaded that the rules need.</summary>
    private sealed record Prepared(V1.ContactRequest Request, Account Account, Collector Collector, Resolved Destination, ContactPurpose Purpose,
        IReadOnlyList<Account>? BorrowerAccounts);

    public async Task<DecisionRecord> AuthorizeAsync(string lenderId, string keyId, V1.ContactRequest? request, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var decision = await DecideAsync(lenderId, keyId, request, ct);
        metrics.Decided(decision, started);
        return decision;
    }

    private async Task<DecisionRecord> DecideAsync(string lenderId, string keyId, V1.ContactRequest? request, CancellationToken ct)
    {
        var arrived = clock.GetUtcNow();
        // The history is read for the policy in force when the request arrived: it reaches back from then, which covers
        // every window of that policy at the later instant the decision is taken.
        var policy = policies.For(lenderId, arrived);
        for (var read = 1; ; read++)
        {
            // Taken before the cached accounts are read: they are at least as new as this stamp.
            var known = request is null ? null : accounts.KnownStamp(lenderId, request.AccountId);
            Prepared prepared;
            try
            {
                prepared = await PrepareAsync(lenderId, request, "contact", policy, ct);
            }
            catch (Exception e) when (IsStoreFailure(e))
            {
                return FailedClosed(NewDecisionId(), lenderId, keyId, request!, arrived, e);
            }

            try
            {
                Attempt? reservation = null;
                RegistryStamps current = default;
                var recorded = await store.DecideOnStampAsync(lenderId, prepared.Account.BorrowerId, prepared.Collector.CollectorId, arrived - policy.LookbackFor(prepared.Account), (history, stamp) =>
                {
                    // The borrower's accounts or flags, or the collector, changed (through any replica) since the cached
                    // ones were read: nothing is decided on them.
                    current = stamp;
                    if (stamp.Borrower != known || stamp.Collector != prepared.Collector.Stamp)
                    {
                        return null;
                    }

                    // The decision's own time is read once the borrower's turn has come: a request that waited behind
                    // others for the same borrower is judged at the moment it is decided (an hour may have ended
                    // meanwhile), and its reservation starts then.
                    var now = clock.GetUtcNow();
                    // A version that took effect meanwhile decides, where the history read reaches back over its windows.
                    var inForce = policies.For(lenderId, now);
                    var deciding = now - inForce.LookbackFor(prepared.Account) >= arrived - policy.LookbackFor(prepared.Account) ? inForce : policy;
                    var result = deciding.Evaluate(Candidate(prepared, now), history);
                    var decision = Record(NewDecisionId(), lenderId, keyId, prepared, result, now, now + _options.ReservationTtl);
                    reservation = decision.Allowed
                        ? new Attempt(now, prepared.Account.AccountId, prepared.Collector.CollectorId, (Channel)prepared.Request.Channel,
                            prepared.Destination.Destination.DestinationHash, result.DestinationClass,
                            prepared.Destination.Destination.Party?.PartyId ?? "", prepared.Destination.Use, prepared.Purpose, AttemptOutcome.Pending)
                        : null;
                    return new GateOutcome(decision, reservation);
                }, ct);
                if (recorded is null)
                {
                    if (read == MaxRegistryReads)
                    {
                        return FailedClosed(NewDecisionId(), lenderId, keyId, request!, clock.GetUtcNow(),
                            new InvalidOperationException($"The borrower's registry data changed {read} times while the gate read it."));
                    }

                    if (current.Borrower != known)
                    {
                        accounts.Refresh(lenderId, prepared.Account.AccountId, prepared.Account.BorrowerId, current.Borrower);
                    }

                    if (current.Collector != prepared.Collector.Stamp)
                    {
                        accounts.EvictCollector(lenderId, prepared.Collector.CollectorId);
                    }

                    continue;
                }

                // The ingest's cached history of the borrower gets the reservation as a history read from the store now
                // would have it (a denial changes no attempts).
                writeHealth.Succeeded();
                if (reservation is { } reserved)
                {
                    histories.Reserved(lenderId, prepared.Account.BorrowerId, new AttemptRow(recorded.DecisionId, "", reserved), recorded.ReservedUntil!.Value);
                }

                return recorded;
            }
            catch (Exception e) when (IsStoreFailure(e))
            {
                writeHealth.Failed();
                return FailedClosed(NewDecisionId(), lenderId, keyId, request!, clock.GetUtcNow(), e);
            }
        }
    }

    /// <summary>Dry run for one contact or a call list at a given instant; nothing is recorded or reserved.</summary>
    public async Task<IReadOnlyList<DecisionRecord>> EvaluateAsync(string lenderId, string keyId, IReadOnlyList<V1.ContactRequest> requests, DateTimeOffset at, CancellationToken ct)
    {
        var decisions = new List<DecisionRecord>(requests.Count);
        var byBorrower = new Dictionary<string, IReadOnlyList<Attempt>>(StringComparer.Ordinal);
        var policy = policies.For(lenderId, at);
        for (var i = 0; i < requests.Count; i++)
        {
            try
            {
                var prepared = await PrepareAsync(lenderId, requests[i], $"contacts[{i}]", policy, ct);
                if (!byBorrower.TryGetValue(prepared.Account.BorrowerId, out var history))
                {
                    history = await store.HistoryAsync(lenderId, prepared.Account.BorrowerId, at - policy.Lookback, ct);
                    byBorrower[prepared.Account.BorrowerId] = history;
                }

                decisions.Add(Record("", lenderId, keyId, prepared, policy.Evaluate(Candidate(prepared, at), history), at, null));
            }
            catch (Exception e) when (IsStoreFailure(e))
            {
                decisions.Add(FailedClosed("", lenderId, keyId, requests[i], at, e));
            }
        }

        return decisions;
    }

    private async Task<Prepared> PrepareAsync(string lenderId, V1.ContactRequest? request, string field, CompiledPolicy policy, CancellationToken ct)
    {
        if (request is null)
        {
            throw RpcErrors.InvalidArgument(field, "is required");
        }

        var errors = new List<FieldError>();
        Validate.Id(errors, $"{field}.account_id", request.AccountId);
        Validate.Id(errors, $"{field}.collector_id", request.CollectorId);
        Validate.Defined(errors, $"{field}.channel", request.Channel);
        Validate.Defined(errors, $"{field}.purpose", request.Purpose, required: false);
        errors.ThrowIfAny();

        var account = await accounts.AccountAsync(lenderId, request.AccountId, ct) ?? throw RpcErrors.NotFound("account", request.AccountId);
        var collector = await accounts.CollectorAsync(lenderId, request.CollectorId, ct) ?? throw RpcErrors.NotFound("collector", request.CollectorId);
        var destination = resolver.Resolve(request.Destination, (Channel)request.Channel, account, $"{field}.destination");
        var purpose = request.Purpose == V1.ContactPurpose.Unspecified ? ContactPurpose.CollectDebt : (ContactPurpose)request.Purpose;
        var borrowerAccounts = policy.CountsAcrossDebts(account, destination.Destination.Class)
            ? await accounts.BorrowerAccountsAsync(lenderId, account.BorrowerId, ct)
            : null;
        return new Prepared(request, account, collector, destination, purpose, borrowerAccounts);
    }

    private static ContactCandidate Candidate(Prepared p, DateTimeOffset at) =>
        ContactCandidate.For(p.Account, p.Collector, (Channel)p.Request.Channel, p.Purpose, p.Destination.Destination, at, p.BorrowerAccounts);

    /// <remarks>Evaluations record nothing and get no decision id (empty). Only an allowed contact keeps its reservation time.</remarks>
    private static DecisionRecord Record(string decisionId, string lenderId, string keyId, Prepared p, GateResult result, DateTimeOffset at, DateTimeOffset? reservedUntil) =>
        new(lenderId, decisionId, p.Account.AccountId, p.Collector.CollectorId, (Channel)p.Request.Channel, p.Purpose,
            p.Destination.Destination.DestinationHash, p.Destination.Masked, result.DestinationClass, result.Allowed, false, result.Hits, result.Profiles,
            result.Allowed ? null : result.NextAllowedAt, result.PolicyVersion, at, result.Allowed ? reservedUntil : null, keyId, result.Hours);

    private DecisionRecord FailedClosed(string decisionId, string lenderId, string keyId, V1.ContactRequest request, DateTimeOffset at, Exception e)
    {
        logger.LogError(e, "The gate could not reach its store and denied account {Account}", request.AccountId);
        var hit = new RuleHit("GATE.undecidable", GateProfile, "Fail-closed design of the gate",
            "The gate could not read the records it needs and denies to stay safe; retry shortly.", false, Severity.High, null);
        return new DecisionRecord(lenderId, decisionId, request.AccountId, request.CollectorId, (Channel)request.Channel,
            (ContactPurpose)request.Purpose, "", "", DestinationClass.Unspecified, false, true, [hit], [], null, "", at, null, keyId);
    }

    private static string NewDecisionId() => $"dec_{Guid.CreateVersion7():N}";

    /// <summary>Anything but a refusal of the request itself (an RpcException) or a cancelled call means the gate could not decide.</summary>
    private static bool IsStoreFailure(Exception e) => e is not (RpcException or OperationCanceledException);
}
