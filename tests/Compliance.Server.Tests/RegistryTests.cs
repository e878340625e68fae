using Compliance.Api.V1;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;

namespace Compliance.Server.Tests;

/// <summary>The registry over the real gRPC API: round trips, validation, roles and tenancy.</summary>
public sealed class RegistryTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private RegistryService.RegistryServiceClient Registry(string? key) => new(server.Channel(key));

    private static Account ChineseAccount(string id) => new()
    {
        AccountId = id,
        BorrowerName = "Li Wei",
        Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
        ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+86 138 0013 8000" } },
        Parties =
        {
            new Party
            {
                Role = PartyRole.EmergencyContact,
                DisplayName = "Wang",
                ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Value = "139 0013 9000" } },
            },
        },
    };

    [Fact]
    public async Task Health_IsServing()
    {
        var health = new Health.HealthClient(server.Channel(null));
        var response = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task UpsertThenGet_RoundTrips_WithNumbersMaskedNeverEchoed()
    {
        var registry = Registry(server.Keys.CollectionSystem);
        var ct = TestContext.Current.CancellationToken;

        var upserted = await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount("rt-1") }, cancellationToken: ct);
        var read = (await registry.GetAccountAsync(new GetAccountRequest { AccountId = "rt-1" }, cancellationToken: ct)).Account;

        Assert.True(upserted.Created);
        Assert.Equal(upserted.Account, read);
        Assert.Equal("rt-1", read.BorrowerId);
        Assert.Equal("+86 138******00", read.ContactPoints[0].Masked);
        Assert.Equal("", read.ContactPoints[0].Value);
        Assert.Equal("+86 139******00", read.Parties[0].ContactPoints[0].Masked);
        Assert.False(read.Parties[0].Related);
        Assert.DoesNotContain("13800138000", read.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upsert_InvalidPhone_IsInvalidArgument_NamingTheField()
    {
        var account = ChineseAccount("bad-1");
        account.ContactPoints.Add(new ContactPoint { Kind = ContactPointKind.Phone, Value = "12345" });

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Registry(server.Keys.CollectionSystem).UpsertAccountAsync(new UpsertAccountRequest { Account = account }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var violation = Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations);
        Assert.Equal("account.contact_points[1].value", violation.Field);
    }

    [Fact]
    public async Task Upsert_ReportsEveryBadField_AndStoresNothing()
    {
        var account = new Account
        {
            AccountId = "has space",
            Location = new Location { CountryCode = "USA", TimeZone = "Mars/Olympus" },
            ContactPoints = { new ContactPoint { Kind = ContactPointKind.Email, Value = "not-an-email" } },
        };

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Registry(server.Keys.CollectionSystem).UpsertAccountAsync(new UpsertAccountRequest { Account = account }).ResponseAsync);

        var fields = error.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).ToList();
        Assert.Equal(["account.account_id", "account.location.country_code", "account.location.time_zone", "account.contact_points[0].value"], fields);
    }

    [Fact]
    public async Task GetAccount_Unknown_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Registry(server.Keys.Auditor).GetAccountAsync(new GetAccountRequest { AccountId = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task AnotherLendersKey_CannotReadOrChangeTheAccount()
    {
        var ct = TestContext.Current.CancellationToken;
        await Registry(server.Keys.CollectionSystem).UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount("tenant-1") }, cancellationToken: ct);
        var platform = Registry(server.Keys.PlatformAdmin);
        await platform.CreateLenderAsync(new CreateLenderRequest { Lender = new Lender { LenderId = "other", DisplayName = "Other", CountryCode = "CN" } }, cancellationToken: ct);
        var otherKey = (await platform.CreateApiKeyAsync(new CreateApiKeyRequest { LenderId = "other", Role = Role.Administrator }, cancellationToken: ct)).Secret;
        var other = Registry(otherKey);

        var get = await Assert.ThrowsAsync<RpcException>(() => other.GetAccountAsync(new GetAccountRequest { AccountId = "tenant-1" }).ResponseAsync);
        var flag = await Assert.ThrowsAsync<RpcException>(() => other.SetFlagAsync(new SetFlagRequest
        {
            AccountId = "tenant-1",
            Flag = new Flag { Type = FlagType.CeaseCommunication },
        }).ResponseAsync);
        var list = await other.ListAccountsAsync(new ListAccountsRequest(), cancellationToken: ct);
        var mine = await Registry(server.Keys.Auditor).GetAccountAsync(new GetAccountRequest { AccountId = "tenant-1" }, cancellationToken: ct);

        Assert.Equal(StatusCode.NotFound, get.StatusCode);
        Assert.Equal(StatusCode.NotFound, flag.StatusCode);
        Assert.Empty(list.Accounts);
        Assert.Empty(mine.Account.Flags);
    }

    [Fact]
    public async Task NoKey_IsUnauthenticated_AndWrongRole_IsPermissionDenied()
    {
        var anonymous = await Assert.ThrowsAsync<RpcException>(() =>
            Registry(null).GetAccountAsync(new GetAccountRequest { AccountId = "x" }).ResponseAsync);
        var forged = await Assert.ThrowsAsync<RpcException>(() =>
            Registry("cmp_0000_forged").GetAccountAsync(new GetAccountRequest { AccountId = "x" }).ResponseAsync);
        var auditorWrites = await Assert.ThrowsAsync<RpcException>(() =>
            Registry(server.Keys.Auditor).UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount("x") }).ResponseAsync);
        var lenderCreatesLender = await Assert.ThrowsAsync<RpcException>(() =>
            Registry(server.Keys.Administrator).CreateLenderAsync(new CreateLenderRequest { Lender = new Lender { LenderId = "x", CountryCode = "US" } }).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, auditorWrites.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, lenderCreatesLender.StatusCode);
    }

    [Fact]
    public async Task RevokedKey_StopsWorking()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = Registry(server.Keys.Administrator);
        var created = await admin.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Auditor, DisplayName = "temp" }, cancellationToken: ct);
        await Registry(created.Secret).GetLenderAsync(new GetLenderRequest(), cancellationToken: ct);

        await admin.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = created.Key.KeyId }, cancellationToken: ct);
        var error = await Assert.ThrowsAsync<RpcException>(() => Registry(created.Secret).GetLenderAsync(new GetLenderRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task SetAndClearFlag_KeepsHistory()
    {
        var ct = TestContext.Current.CancellationToken;
        var registry = Registry(server.Keys.CollectionSystem);
        await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount("flags-1") }, cancellationToken: ct);

        var officer = Registry(server.Keys.ComplianceOfficer);
        var set = await officer.SetFlagAsync(new SetFlagRequest
        {
            AccountId = "flags-1",
            Flag = new Flag { Type = FlagType.MediumOptOut, Channel = Channel.Sms, Note = "asked by phone" },
        }, cancellationToken: ct);
        await officer.ClearFlagAsync(new ClearFlagRequest { AccountId = "flags-1", FlagId = set.Flag.FlagId }, cancellationToken: ct);
        var account = (await registry.GetAccountAsync(new GetAccountRequest { AccountId = "flags-1" }, cancellationToken: ct)).Account;

        var flag = Assert.Single(account.Flags);
        Assert.Equal(FlagType.MediumOptOut, flag.Type);
        Assert.Equal(Channel.Sms, flag.Channel);
        Assert.NotNull(flag.ClearedAt);
        Assert.NotEmpty(flag.SetBy);
    }

    [Fact]
    public async Task SetFlag_OptOutWithoutChannel_OrUnknownParty_IsInvalidArgument()
    {
        var ct = TestContext.Current.CancellationToken;
        var registry = Registry(server.Keys.CollectionSystem);
        await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount("flags-2") }, cancellationToken: ct);

        var noChannel = await Assert.ThrowsAsync<RpcException>(() => registry.SetFlagAsync(new SetFlagRequest
        {
            AccountId = "flags-2",
            Flag = new Flag { Type = FlagType.MediumOptOut },
        }).ResponseAsync);
        var unknownParty = await Assert.ThrowsAsync<RpcException>(() => registry.SetFlagAsync(new SetFlagRequest
        {
            AccountId = "flags-2",
            Flag = new Flag { Type = FlagType.ThirdPartyRefused, PartyId = "ghost" },
        }).ResponseAsync);

        Assert.Equal("flag.channel", noChannel.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Single().Field);
        Assert.Equal("flag.party_id", unknownParty.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Single().Field);
    }

    [Fact]
    public async Task ListAccounts_Pages()
    {
        var ct = TestContext.Current.CancellationToken;
        var platform = Registry(server.Keys.PlatformAdmin);
        await platform.CreateLenderAsync(new CreateLenderRequest { Lender = new Lender { LenderId = "pager", DisplayName = "Pager", CountryCode = "CN" } }, cancellationToken: ct);
        var registry = Registry((await platform.CreateApiKeyAsync(new CreateApiKeyRequest { LenderId = "pager", Role = Role.CollectionSystem }, cancellationToken: ct)).Secret);
        foreach (var id in new[] { "p-1", "p-2", "p-3" })
        {
            await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount(id) }, cancellationToken: ct);
        }

        var first = await registry.ListAccountsAsync(new ListAccountsRequest { Page = new PageRequest { PageSize = 2 } }, cancellationToken: ct);
        var second = await registry.ListAccountsAsync(new ListAccountsRequest { Page = new PageRequest { PageSize = 2, PageToken = first.NextPageToken } }, cancellationToken: ct);

        Assert.Equal(["p-1", "p-2"], first.Accounts.Select(a => a.AccountId));
        Assert.Equal(["p-3"], second.Accounts.Select(a => a.AccountId));
        Assert.Equal("", second.NextPageToken);
    }
}

/// <summary>
/// The registry's group commit over the real gRPC API: many concurrent upserts share write transactions, and each is
/// still answered with its own result, revisions stay exact when one account is upserted many times at once, and the
/// ledger holds one verifiable entry for every change.
/// </summary>
public sealed class RegistryGroupCommitTests
{
    private const int Accounts = 300;
    private const int SameAccountUpserts = 40;

    [Fact]
    public async Task ConcurrentUpserts_ShareTransactions_EachAnsweredExactly_AndTheLedgerVerifies()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = new GateFixture();
        var registry = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem));
        static Account Numbered(string id, int n) => new()
        {
            AccountId = id,
            BorrowerId = $"borrower-{id}",
            Location = new Location { Region = "US-NY" },
            ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = $"+1 212 555 {n % 10_000:D4}" } },
        };

        // Distinct accounts and, interleaved with them, one account upserted many times at once.
        var calls = Enumerable.Range(0, Accounts).Select(i => (Id: $"gc-{i}", N: i))
            .Concat(Enumerable.Range(0, SameAccountUpserts).Select(i => (Id: "gc-same", N: 5000 + i)))
            .OrderBy(c => c.N % 7)
            .ToList();
        var answers = new System.Collections.Concurrent.ConcurrentBag<UpsertAccountResponse>();
        await Parallel.ForEachAsync(calls, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (call, token) =>
            answers.Add(await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = Numbered(call.Id, call.N) }, cancellationToken: token)));

        Assert.Equal(Accounts, answers.Count(a => a.Account.AccountId != "gc-same" && a.Created));
        var same = answers.Where(a => a.Account.AccountId == "gc-same").ToList();
        Assert.Single(same, a => a.Created);
        // Each of the upserts of one account got a revision of its own, one after another.
        Assert.Equal(Enumerable.Range(1, SameAccountUpserts).Select(r => (long)r), same.Select(a => a.Account.Revision).Order());
        var read = (await registry.GetAccountAsync(new GetAccountRequest { AccountId = "gc-same" }, cancellationToken: ct)).Account;
        Assert.Equal(SameAccountUpserts, read.Revision);
        Assert.Equal(same.Single(a => a.Account.Revision == SameAccountUpserts).Account.ContactPoints[0].Masked, read.ContactPoints[0].Masked);

        var verify = await new AuditService.AuditServiceClient(server.Channel(server.Keys.Auditor)).VerifyAsync(new VerifyRequest(), cancellationToken: ct);
        Assert.True(verify.Valid, verify.Reason);
        Assert.True(verify.EntriesChecked >= Accounts + SameAccountUpserts, $"{verify.EntriesChecked} ledger entries checked");
    }
}
