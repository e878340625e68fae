using Compliance.Api.V1;
using Compliance.Domain.Contacts;
using Compliance.Server.Gate;
using Compliance.Server.Infrastructure;
using Compliance.Server.Mapping;
using Compliance.Server.Security;
using Compliance.Storage;
using Grpc.Core;
using Model = Compliance.Domain.Registry;

namespace Compliance.Server.Services;

/// <summary>Accounts, flags, agencies, collectors, lenders and keys. Every call is scoped to the caller's lender.</summary>
/// <remarks>Who may call what is <see cref="Permissions"/>; which role may set or clear which flag type too.</remarks>
internal sealed class RegistryGrpcService(IComplianceStore store, ContactHasher hasher, ApiKeyVerifier keys, AccountCache cache, TimeProvider clock,
    Registry.AccountWriter accounts)
    : RegistryService.RegistryServiceBase
{
    private const int MaxReasonLength = 2000;

    /// <summary>How far a caller's clock may differ from the server's when it says "now".</summary>
    private static readonly TimeSpan ClockTolerance = TimeSpan.FromMinutes(1);

    public override async Task<UpsertAccountResponse> UpsertAccount(UpsertAccountRequest request, ServerCallContext context)
    {
        if (request.Account is null)
        {
            throw RpcErrors.InvalidArgument("account", "is required");
        }

        var account = RegistryMapping.ToDomain(request.Account, context.Caller().Lender, hasher, clock.GetUtcNow());
        // The borrower's list of accounts changes, and the previous borrower's too when the account changes hands.
        var previous = await cache.AccountAsync(account.LenderId, account.AccountId, context.CancellationToken);
        var (stored, created) = await accounts.UpsertAsync(account, context.CancellationToken);
        cache.EvictAccount(stored.LenderId, stored.AccountId);
        cache.EvictBorrower(stored.LenderId, stored.BorrowerId);
        if (previous is not null)
        {
            cache.EvictBorrower(previous.LenderId, previous.BorrowerId);
        }

        return new UpsertAccountResponse { Account = RegistryMapping.ToProto(stored), Created = created };
    }

    public override async Task<GetAccountResponse> GetAccount(GetAccountRequest request, ServerCallContext context) =>
        new() { Account = RegistryMapping.ToProto(await RequireAccountAsync(request.AccountId, "account_id", context)) };

    public override async Task<ListAccountsResponse> ListAccounts(ListAccountsRequest request, ServerCallContext context)
    {
        var (limit, after) = Paging.Read(request.Page);
        var page = await store.ListAccountsAsync(context.Caller().Lender, request.BorrowerId, limit, after, context.CancellationToken);
        var response = new ListAccountsResponse { NextPageToken = Paging.Token(page.NextAfter) };
        response.Accounts.AddRange(page.Items.Select(RegistryMapping.ToProto));
        return response;
    }

    public override async Task<SetFlagResponse> SetFlag(SetFlagRequest request, ServerCallContext context)
    {
        if (request.Flag is null)
        {
            throw RpcErrors.InvalidArgument("flag", "is required");
        }

        var caller = context.Caller();
        if (Enum.IsDefined(request.Flag.Type) && (Permissions.FlagRuleOf(request.Flag.Type).Set & Permissions.ToAccess(caller.Role)) == Access.None)
        {
            throw RpcErrors.PermissionDenied($"A key with role {caller.Role} may not set {request.Flag.Type} flags.");
        }

        var account = await RequireAccountAsync(request.AccountId, "account_id", context);
        var now = clock.GetUtcNow();
        var flag = RegistryMapping.ToDomain(request.Flag, account, caller.KeyId, now);
        var stored = await store.AddFlagAsync(caller.Lender, account.AccountId, flag, now, context.CancellationToken)
            ?? throw RpcErrors.NotFound("account", request.AccountId);
        cache.EvictAccount(caller.Lender, account.AccountId);
        // The borrower's other debts read the consumer's requests (opt-outs) and wrong numbers through the borrower's accounts.
        cache.EvictBorrower(caller.Lender, account.BorrowerId);
        return new SetFlagResponse { Flag = RegistryMapping.ToProto(stored) };
    }

    public override async Task<ClearFlagResponse> ClearFlag(ClearFlagRequest request, ServerCallContext context)
    {
        var errors = new List<FieldError>();
        Validate.Id(errors, "account_id", request.AccountId);
        Validate.Id(errors, "flag_id", request.FlagId);
        Validate.Text(errors, "reason", request.Reason, MaxReasonLength);
        var clearedAt = Validate.Time(errors, "cleared_at", request.ClearedAt);
        errors.ThrowIfAny();
        var caller = context.Caller();
        var account = await RequireAccountAsync(request.AccountId, "account_id", context);
        var flag = account.Flags.FirstOrDefault(f => f.FlagId == request.FlagId) ?? throw RpcErrors.NotFound("flag", request.FlagId);
        var rule = Permissions.FlagRuleOf((FlagType)flag.Type);
        if ((rule.Clear & Permissions.ToAccess(caller.Role)) == Access.None)
        {
            throw RpcErrors.PermissionDenied($"A key with role {caller.Role} may not clear {(FlagType)flag.Type} flags; a compliance officer or administrator may.");
        }

        // A clear takes effect between the flag's start and now; one that bars contact ends no earlier than now, so a
        // clear cannot make contacts made while it stood look allowed.
        var now = clock.GetUtcNow();
        var at = clearedAt ?? now;
        if (rule.ReasonToClear && string.IsNullOrWhiteSpace(request.Reason))
        {
            errors.Add(new FieldError("reason", $"is required to clear a {(FlagType)flag.Type} flag"));
        }

        if (at > now + ClockTolerance)
        {
            errors.Add(new FieldError("cleared_at", "must not be in the future"));
        }
        else if (at < flag.EffectiveFrom)
        {
            errors.Add(new FieldError("cleared_at", "must not be before the flag took effect (its effective_from)"));
        }
        else if (rule.ReasonToClear && at < now - ClockTolerance)
        {
            errors.Add(new FieldError("cleared_at", $"must not be in the past: a {(FlagType)flag.Type} flag ends from the time it is cleared"));
        }

        errors.ThrowIfAny();
        var cleared = await store.ClearFlagAsync(caller.Lender, request.AccountId, request.FlagId, at < now ? at : now, now, context.CancellationToken,
            caller.KeyId, request.Reason) ?? throw RpcErrors.NotFound("flag", request.FlagId);
        cache.EvictAccount(caller.Lender, request.AccountId);
        cache.EvictBorrower(caller.Lender, account.BorrowerId);
        return new ClearFlagResponse { Flag = RegistryMapping.ToProto(cleared) };
    }

    public override async Task<UpsertAgencyResponse> UpsertAgency(UpsertAgencyRequest request, ServerCallContext context)
    {
        var a = request.Agency ?? throw RpcErrors.InvalidArgument("agency", "is required");
        var errors = new List<FieldError>();
        Validate.Id(errors, "agency.agency_id", a.AgencyId);
        Validate.Text(errors, "agency.display_name", a.DisplayName, 256);
        errors.ThrowIfAny();
        var agency = new Model.Agency(context.Caller().Lender, a.AgencyId, a.DisplayName, a.Active);
        await store.UpsertAgencyAsync(agency, context.CancellationToken);
        return new UpsertAgencyResponse { Agency = RegistryMapping.ToProto(agency) };
    }

    public override async Task<ListAgenciesResponse> ListAgencies(ListAgenciesRequest request, ServerCallContext context)
    {
        var (limit, after) = Paging.Read(request.Page);
        var page = await store.ListAgenciesAsync(context.Caller().Lender, limit, after, context.CancellationToken);
        var response = new ListAgenciesResponse { NextPageToken = Paging.Token(page.NextAfter) };
        response.Agencies.AddRange(page.Items.Select(RegistryMapping.ToProto));
        return response;
    }

    public override async Task<UpsertCollectorResponse> UpsertCollector(UpsertCollectorRequest request, ServerCallContext context)
    {
        var c = request.Collector ?? throw RpcErrors.InvalidArgument("collector", "is required");
        var errors = new List<FieldError>();
        Validate.Id(errors, "collector.collector_id", c.CollectorId);
        Validate.Id(errors, "collector.agency_id", c.AgencyId);
        Validate.Text(errors, "collector.display_name", c.DisplayName, 256);
        Validate.Defined(errors, "collector.kind", c.Kind);
        errors.ThrowIfAny();
        var collector = new Model.Collector(context.Caller().Lender, c.CollectorId, c.AgencyId, c.DisplayName, (Model.CollectorKind)c.Kind, c.Active);
        var stored = await store.UpsertCollectorAsync(collector, clock.GetUtcNow(), context.CancellationToken);
        cache.EvictCollector(collector.LenderId, collector.CollectorId);
        return new UpsertCollectorResponse { Collector = RegistryMapping.ToProto(stored) };
    }

    public override async Task<GetCollectorResponse> GetCollector(GetCollectorRequest request, ServerCallContext context)
    {
        Validate.RequireId("collector_id", request.CollectorId);
        var collector = await store.GetCollectorAsync(context.Caller().Lender, request.CollectorId, context.CancellationToken)
            ?? throw RpcErrors.NotFound("collector", request.CollectorId);
        return new GetCollectorResponse { Collector = RegistryMapping.ToProto(collector) };
    }

    public override async Task<ListCollectorsResponse> ListCollectors(ListCollectorsRequest request, ServerCallContext context)
    {
        var (limit, after) = Paging.Read(request.Page);
        var page = await store.ListCollectorsAsync(context.Caller().Lender, request.AgencyId, limit, after, context.CancellationToken);
        var response = new ListCollectorsResponse { NextPageToken = Paging.Token(page.NextAfter) };
        response.Collectors.AddRange(page.Items.Select(RegistryMapping.ToProto));
        return response;
    }

    public override async Task<GetLenderResponse> GetLender(GetLenderRequest request, ServerCallContext context)
    {
        var lenderId = context.Caller().Lender;
        var lender = await store.GetLenderAsync(lenderId, context.CancellationToken) ?? throw RpcErrors.NotFound("lender", lenderId);
        return new GetLenderResponse { Lender = RegistryMapping.ToProto(lender) };
    }

    public override async Task<CreateLenderResponse> CreateLender(CreateLenderRequest request, ServerCallContext context)
    {
        var l = request.Lender ?? throw RpcErrors.InvalidArgument("lender", "is required");
        var errors = new List<FieldError>();
        Validate.Id(errors, "lender.lender_id", l.LenderId);
        Validate.Text(errors, "lender.display_name", l.DisplayName, 256);
        if (l.CountryCode.Length != 2 || !l.CountryCode.All(char.IsAsciiLetterUpper))
        {
            errors.Add(new FieldError("lender.country_code", "must be an ISO 3166-1 alpha-2 code such as 'US' or 'CN'"));
        }

        errors.ThrowIfAny();
        var lender = new Model.Lender(l.LenderId, l.DisplayName, l.CountryCode, clock.GetUtcNow());
        if (!await store.CreateLenderAsync(lender, context.CancellationToken))
        {
            throw RpcErrors.AlreadyExists("lender", l.LenderId);
        }

        return new CreateLenderResponse { Lender = RegistryMapping.ToProto(lender) };
    }

    public override async Task<CreateApiKeyResponse> CreateApiKey(CreateApiKeyRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var errors = new List<FieldError>();
        Validate.Defined(errors, "role", request.Role);
        Validate.Text(errors, "display_name", request.DisplayName, 256);
        string lenderId;
        if (caller.IsPlatformAdministrator)
        {
            Validate.Id(errors, "lender_id", request.LenderId);
            lenderId = request.LenderId;
        }
        else
        {
            if (request.LenderId.Length > 0 && request.LenderId != caller.Lender)
            {
                throw RpcErrors.PermissionDenied("A lender's administrator issues keys for its own lender only.");
            }

            lenderId = caller.Lender;
        }

        errors.ThrowIfAny();
        if (await store.GetLenderAsync(lenderId, context.CancellationToken) is null)
        {
            throw RpcErrors.NotFound("lender", lenderId);
        }

        var (key, token) = await IssueKeyAsync(store, lenderId, (Model.Role)request.Role, request.DisplayName, clock.GetUtcNow(), context.CancellationToken);
        return new CreateApiKeyResponse { Key = RegistryMapping.ToProto(key), Secret = token };
    }

    public override async Task<ListApiKeysResponse> ListApiKeys(ListApiKeysRequest request, ServerCallContext context)
    {
        var (limit, after) = Paging.Read(request.Page);
        var page = await store.ListApiKeysAsync(context.Caller().Lender, limit, after, context.CancellationToken);
        var response = new ListApiKeysResponse { NextPageToken = Paging.Token(page.NextAfter) };
        response.Keys.AddRange(page.Items.Select(RegistryMapping.ToProto));
        return response;
    }

    public override async Task<RevokeApiKeyResponse> RevokeApiKey(RevokeApiKeyRequest request, ServerCallContext context)
    {
        Validate.RequireId("key_id", request.KeyId);
        var key = await store.RevokeApiKeyAsync(context.Caller().Lender, request.KeyId, clock.GetUtcNow(), context.CancellationToken)
            ?? throw RpcErrors.NotFound("api key", request.KeyId);
        keys.Forget();
        return new RevokeApiKeyResponse { Key = RegistryMapping.ToProto(key) };
    }

    /// <summary>Creates a key and returns its one-time bearer token.</summary>
    internal static async Task<(Model.ApiKey Key, string Token)> IssueKeyAsync(
        ITenantStore store, string lenderId, Model.Role role, string displayName, DateTimeOffset now, CancellationToken ct)
    {
        var (keyId, token, hash) = ApiKeyTokens.Generate();
        var key = new Model.ApiKey(keyId, lenderId, role, displayName, hash, now, null);
        await store.CreateApiKeyAsync(key, ct);
        return (key, token);
    }

    private async Task<Model.Account> RequireAccountAsync(string accountId, string field, ServerCallContext context)
    {
        Validate.RequireId(field, accountId);
        return await store.GetAccountAsync(context.Caller().Lender, accountId, context.CancellationToken)
            ?? throw RpcErrors.NotFound("account", accountId);
    }
}
