using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;

namespace Compliance.Server.Tests;

/// <summary>
/// Bounded input: long values, bad times, malformed messages and unknown enum values are refused with
/// INVALID_ARGUMENT naming the field, without echoing the value, and the connection stays usable.
/// </summary>
public sealed class InputBoundsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly string Long = new('x', 40_000);
    private static readonly string LongDigits = new('7', 40_000);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A deadline far below any hang, so a call that is not answered fails the test quickly.</summary>
    private static DateTime Soon => DateTime.UtcNow.AddSeconds(20);

    private static Account ChineseAccount(string id) => new()
    {
        AccountId = id,
        BorrowerName = "Li Wei",
        Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
        ContactPoints = { new ContactPoint { ContactPointId = "cp-1", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+86 138 0013 8000" } },
    };

    private static void AssertRefusedNamingTheField(RpcException error, string field, string? value = null)
    {
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail, StringComparison.Ordinal);
        Assert.True(error.Status.Detail.Length <= 1024, $"message of {error.Status.Detail.Length} characters");
        Assert.True(error.Trailers.Sum(t => t.IsBinary ? t.ValueBytes.Length : t.Value.Length) <= 8192, "trailers too large");
        if (value is not null)
        {
            Assert.DoesNotContain(value[..64], error.Status.Detail, StringComparison.Ordinal);
        }
    }

    public static TheoryData<string> LongValueCalls() => ["account_id", "profile_id", "time_zone", "phone", "party_id", "flag.party_id", "yaml key", "destination", "collector_id", "complaint_id"];

    [Theory]
    [MemberData(nameof(LongValueCalls))]
    public async Task AFortyThousandCharacterValue_IsInvalidArgument_NamingTheField_WithoutEchoingIt(string where)
    {
        var channel = server.Channel(server.Keys.Administrator);
        var registry = new RegistryService.RegistryServiceClient(channel);
        var options = new CallOptions(deadline: Soon, cancellationToken: Ct);
        await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount("long-1") }, options);
        Func<Task> call = where switch
        {
            "account_id" => () => registry.GetAccountAsync(new GetAccountRequest { AccountId = Long }, options).ResponseAsync,
            "profile_id" => () => new PolicyService.PolicyServiceClient(channel).GetProfileAsync(new GetProfileRequest { ProfileId = Long }, options).ResponseAsync,
            "time_zone" => () => registry.UpsertAccountAsync(new UpsertAccountRequest
            {
                Account = new Account { AccountId = "long-2", Location = new Location { CountryCode = "CN", TimeZone = Long } },
            }, options).ResponseAsync,
            "phone" => () => registry.UpsertAccountAsync(new UpsertAccountRequest
            {
                Account = new Account { AccountId = "long-3", Location = new Location { CountryCode = "CN" }, ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Value = LongDigits } } },
            }, options).ResponseAsync,
            "party_id" => () => registry.UpsertAccountAsync(new UpsertAccountRequest
            {
                Account = new Account { AccountId = "long-4", Location = new Location { CountryCode = "CN" }, Parties = { new Party { PartyId = Long, Role = PartyRole.Friend } } },
            }, options).ResponseAsync,
            "flag.party_id" => () => registry.SetFlagAsync(new SetFlagRequest { AccountId = "long-1", Flag = new Flag { Type = FlagType.ThirdPartyRefused, PartyId = Long } }, options).ResponseAsync,
            "yaml key" => () => new PolicyService.PolicyServiceClient(channel).PutPolicyAsync(new PutPolicyRequest { Document = $"{Long}: 1\n" }, options).ResponseAsync,
            "destination" => () => new ContactGateService.ContactGateServiceClient(channel).AuthorizeAsync(new AuthorizeRequest
            {
                Contact = new ContactRequest { AccountId = "long-1", CollectorId = "collector-1", Channel = Channel.VoiceCall, Destination = new Destination { ContactPointId = Long } },
            }, options).ResponseAsync,
            "collector_id" => () => registry.GetCollectorAsync(new GetCollectorRequest { CollectorId = Long }, options).ResponseAsync,
            _ => () => new AuditService.AuditServiceClient(channel).GetComplaintAsync(new GetComplaintRequest { ComplaintId = Long }, options).ResponseAsync,
        };

        var error = await Assert.ThrowsAsync<RpcException>(call);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), options);

        AssertRefusedNamingTheField(error, where switch
        {
            "yaml key" => "document",
            "destination" => "destination",
            "flag.party_id" => "flag.party_id",
            "phone" => "value",
            _ => where,
        }, where is "phone" ? LongDigits : Long);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task ANumberPassedAsAContactPointId_IsNotEchoed()
    {
        var channel = server.Channel(server.Keys.CollectionSystem);
        await new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount("cpid-1") }, cancellationToken: Ct);

        var error = await Assert.ThrowsAsync<RpcException>(() => new ContactGateService.ContactGateServiceClient(channel).AuthorizeAsync(new AuthorizeRequest
        {
            Contact = new ContactRequest { AccountId = "cpid-1", CollectorId = "collector-1", Channel = Channel.VoiceCall, Destination = new Destination { ContactPointId = "13900139000" } },
        }, cancellationToken: Ct).ResponseAsync);

        AssertRefusedNamingTheField(error, "contact.destination.contact_point_id");
        Assert.DoesNotContain("13900139000", error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("13900139000", error.Trailers.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, long, int> BadTimes() => new()
    {
        { "negative nanos", 1_700_000_000, -1 },
        { "nanos out of range", 1_700_000_000, 1_000_000_000 },
        { "seconds beyond year 9999", 300_000_000_000, 0 },
        { "year 9999", 253_370_764_800, 0 },
        { "year 1", -62_135_596_800, 0 },
    };

    [Theory]
    [MemberData(nameof(BadTimes))]
    public async Task ABadTimestamp_IsInvalidArgument_NamingTheField(string what, long seconds, int nanos)
    {
        _ = what;
        var channel = server.Channel(server.Keys.Administrator);
        await new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest { Account = ChineseAccount("time-1") }, cancellationToken: Ct);
        var t = new Timestamp { Seconds = seconds, Nanos = nanos };

        var evaluate = await Assert.ThrowsAsync<RpcException>(() => new ContactGateService.ContactGateServiceClient(channel).EvaluateAsync(new EvaluateRequest
        {
            At = t,
            Contacts = { new ContactRequest { AccountId = "time-1", CollectorId = "collector-1", Channel = Channel.VoiceCall, Destination = new Destination { ContactPointId = "cp-1" } } },
        }, cancellationToken: Ct).ResponseAsync);
        var complaint = await Assert.ThrowsAsync<RpcException>(() => new AuditService.AuditServiceClient(channel).RecordComplaintAsync(new RecordComplaintRequest
        {
            Complaint = new Complaint { AccountId = "time-1", Source = ComplaintSource.RegulatorHotline, Text = "x", ReceivedAt = t },
        }, cancellationToken: Ct).ResponseAsync);
        var flag = await Assert.ThrowsAsync<RpcException>(() => new RegistryService.RegistryServiceClient(channel).SetFlagAsync(new SetFlagRequest
        {
            AccountId = "time-1",
            Flag = new Flag { Type = FlagType.Dispute, EffectiveFrom = t },
        }, cancellationToken: Ct).ResponseAsync);
        var incidents = await Assert.ThrowsAsync<RpcException>(() => new AlertService.AlertServiceClient(channel).ListIncidentsAsync(new ListIncidentsRequest { From = t }, cancellationToken: Ct).ResponseAsync);

        AssertRefusedNamingTheField(evaluate, "at");
        AssertRefusedNamingTheField(complaint, "complaint.received_at");
        AssertRefusedNamingTheField(flag, "flag.effective_from");
        AssertRefusedNamingTheField(incidents, "from");
    }

    [Fact]
    public async Task ABadDuration_IsInvalidArgument_NamingTheField()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => new ReportService.ReportServiceClient(server.Channel(server.Keys.Auditor)).GetConductScoresAsync(
            new GetConductScoresRequest { Scope = ScoreScope.Collector, Window = new Duration { Seconds = 10, Nanos = -5 } }, cancellationToken: Ct).ResponseAsync);

        AssertRefusedNamingTheField(error, "window");
    }

    [Fact]
    public async Task MalformedProtobuf_IsInvalidArgument_NotUnknown()
    {
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var invoker = server.Channel(null).CreateCallInvoker();
        var headers = new Metadata { { "authorization", $"Bearer {server.Keys.Administrator}" } };
        byte[] garbage = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];

        var unary = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(
            new Method<byte[], byte[]>(MethodType.Unary, "compliance.v1.RegistryService", "GetAccount", bytes, bytes), null, new CallOptions(headers, Soon, Ct), garbage).ResponseAsync);
        using var stream = invoker.AsyncDuplexStreamingCall(
            new Method<byte[], byte[]>(MethodType.DuplexStreaming, "compliance.v1.EventIngestService", "Stream", bytes, bytes), null, new CallOptions(headers, Soon, Ct));
        await stream.RequestStream.WriteAsync(garbage, Ct);
        await stream.RequestStream.CompleteAsync();
        var streamed = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext(Ct));

        Assert.Equal(StatusCode.InvalidArgument, unary.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, streamed.StatusCode);
    }

    [Fact]
    public async Task AnUnknownEnumValue_IsRefused()
    {
        var channel = server.Channel(server.Keys.Administrator);
        var account = ChineseAccount("enum-1");
        account.ContactPoints[0].Use = (ContactPointUse)99;

        var error = await Assert.ThrowsAsync<RpcException>(() => new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest { Account = account }, cancellationToken: Ct).ResponseAsync);
        var unknownProfile = ChineseAccount("enum-2");
        unknownProfile.Profiles.Add("XX-NOPE");
        var profile = await Assert.ThrowsAsync<RpcException>(() => new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest { Account = unknownProfile }, cancellationToken: Ct).ResponseAsync);

        AssertRefusedNamingTheField(error, "account.contact_points[0].use");
        AssertRefusedNamingTheField(profile, "account.profiles[0]");
    }

    [Fact]
    public async Task TooManyContactPointsOrProfiles_AreRefused_NamingTheLimit()
    {
        var registry = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.Administrator));
        var points = ChineseAccount("caps-1");
        for (var i = 0; i < 101; i++)
        {
            points.ContactPoints.Add(new ContactPoint { Kind = ContactPointKind.Email, Value = $"a{i}@example.com" });
        }

        var profiles = ChineseAccount("caps-2");
        profiles.Profiles.AddRange(Enumerable.Repeat("US-MA", 33));

        var tooManyPoints = await Assert.ThrowsAsync<RpcException>(() => registry.UpsertAccountAsync(new UpsertAccountRequest { Account = points }, cancellationToken: Ct).ResponseAsync);
        var tooManyProfiles = await Assert.ThrowsAsync<RpcException>(() => registry.UpsertAccountAsync(new UpsertAccountRequest { Account = profiles }, cancellationToken: Ct).ResponseAsync);

        AssertRefusedNamingTheField(tooManyPoints, "account.contact_points");
        Assert.Contains("at most", tooManyPoints.Status.Detail, StringComparison.Ordinal);
        AssertRefusedNamingTheField(tooManyProfiles, "account.profiles");
    }

    [Fact]
    public void BadRequestDetails_AreBounded()
    {
        var error = Infrastructure.RpcErrors.InvalidArgument(Enumerable.Range(0, 1_000).Select(i => new Infrastructure.FieldError($"f{i}{Long[..2000]}", Long)).ToList());

        var details = error.GetRpcStatus()!.GetDetail<BadRequest>()!;
        Assert.True(error.Status.Detail.Length <= 1024);
        Assert.True(details.CalculateSize() <= 8192, $"{details.CalculateSize()} bytes of details");
    }
}
