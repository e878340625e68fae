using System.Reflection;
using Compliance.Api.V1;
using Compliance.Server.Security;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Compliance.Server.Tests;

/// <summary>
/// The permission table against the contract and against the running server: every RPC has a row, every flag type
/// has a row, the README shows the table as it is, and every RPC answers each role, no key, a garbage key and another
/// lender's key as the table says.
/// </summary>
public sealed class PermissionTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Account = "perm-acct";
    private const string BorrowerName = "Zhang Secretname";
    private const string ComplaintText = "a complaint text only its lender may read";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every service of the public contract (the generated Compliance.Api.V1 file descriptors).</summary>
    private static IEnumerable<MethodDescriptor> ContractMethods() =>
        typeof(RegistryService).Assembly.GetTypes()
            .Where(t => t.Namespace == "Compliance.Api.V1")
            .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
            .OfType<FileDescriptor>()
            .SelectMany(f => f.Services)
            .SelectMany(s => s.Methods)
            .DistinctBy(m => m.FullName);

    private static string Key(MethodDescriptor m) => $"{m.Service.FullName}/{m.Name}";

    [Fact]
    public void EveryRpcOfTheContract_HasARow()
    {
        var missing = ContractMethods().Select(Key).Where(k => !Permissions.Rpcs.ContainsKey(k)).ToList();

        Assert.True(missing.Count == 0, $"Add a row to Security/Permissions.cs for: {string.Join(", ", missing)}");
    }

    [Fact]
    public void EveryRow_NamesAnRpcOfTheContract()
    {
        var methods = ContractMethods().Select(Key).ToHashSet();

        Assert.Empty(Permissions.Rpcs.Keys.Where(k => !methods.Contains(k)));
    }

    [Fact]
    public void EveryFlagType_HasARow()
    {
        var missing = Enum.GetValues<FlagType>().Where(t => t != FlagType.Unspecified && !Permissions.Flags.ContainsKey(t)).ToList();

        Assert.True(missing.Count == 0, $"Add a flag row to Security/Permissions.cs for: {string.Join(", ", missing)}");
    }

    [Fact]
    public void TheReadme_ShowsThePermissionTableAsItIs()
    {
        const string begin = "<!-- permissions:begin (generated from src/Compliance.Server/Security/Permissions.cs by PermissionTests) -->";
        const string end = "<!-- permissions:end -->";
        var readme = FindReadme();
        var text = File.ReadAllText(readme).ReplaceLineEndings("\n");
        var from = text.IndexOf(begin, StringComparison.Ordinal);
        var to = text.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, $"README.md needs the markers {begin} and {end}");
        var expected = $"{begin}\n{Permissions.Markdown()}{end}";

        // UPDATE_README=1 dotnet test ... writes the table in; the test then passes.
        if (Environment.GetEnvironmentVariable("UPDATE_README") == "1")
        {
            File.WriteAllText(readme, text[..from] + expected + text[(to + end.Length)..]);
            return;
        }

        Assert.True(text[from..(to + end.Length)] == expected,
            "The README's permission table is stale: run UPDATE_README=1 dotnet test --filter TheReadme_ShowsThePermissionTableAsItIs");
    }

    [Fact]
    public async Task EveryRpc_AnswersEachRole_NoKey_AGarbageKey_AndAnotherLendersKey_AsTheTableSays()
    {
        await SeedAsync();
        var other = await OtherLenderKeysAsync();
        var keys = new (string Name, string? Token, Access Role)[]
        {
            ("collection system", server.Keys.CollectionSystem, Access.CollectionSystem),
            ("compliance officer", server.Keys.ComplianceOfficer, Access.ComplianceOfficer),
            ("auditor", server.Keys.Auditor, Access.Auditor),
            ("administrator", server.Keys.Administrator, Access.Administrator),
            ("platform administrator", server.Keys.PlatformAdmin, Access.PlatformAdministrator),
        };
        var failures = new List<string>();
        foreach (var method in ContractMethods())
        {
            var allowed = Permissions.Rpcs[Key(method)];
            foreach (var (name, token, role) in keys)
            {
                var (status, _) = await CallAsync(method, token);
                var may = (allowed & role) != 0;
                if (may ? status is StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.Internal or StatusCode.Unknown
                        : status != StatusCode.PermissionDenied)
                {
                    failures.Add($"{Key(method)} as {name}: {status} (table: {(may ? "allowed" : "refused")})");
                }
            }

            foreach (var (name, token) in new[] { ("no key", (string?)null), ("a garbage key", "cmp_0123456789abcdef_garbage"), ("no Bearer", "") })
            {
                var (status, _) = await CallAsync(method, token);
                if (status != StatusCode.Unauthenticated)
                {
                    failures.Add($"{Key(method)} with {name}: {status}, expected Unauthenticated");
                }
            }

            // Another lender's key of every role the row allows: never the demo lender's data.
            foreach (var (role, token) in other.Where(o => (allowed & o.Key) != 0))
            {
                var (status, body) = await CallAsync(method, token);
                if (status is StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.Internal or StatusCode.Unknown
                    || body.Contains(BorrowerName, StringComparison.Ordinal) || body.Contains(ComplaintText, StringComparison.Ordinal))
                {
                    failures.Add($"{Key(method)} as the other lender's {role}: {status}{(body.Length > 0 ? " with the demo lender's data" : "")}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task ACollectionSystem_CannotLiftACeaseFlag_AnOfficerCan_WithAReason_NotBackdated()
    {
        await SeedAsync();
        var officer = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.ComplianceOfficer));
        var system = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem));
        var set = await officer.SetFlagAsync(new SetFlagRequest { AccountId = Account, Flag = new Flag { Type = FlagType.CeaseCommunication } }, cancellationToken: Ct);
        var effective = set.Flag.EffectiveFrom.ToDateTimeOffset();
        ClearFlagRequest Clear(string reason, DateTimeOffset? at = null) => new()
        {
            AccountId = Account,
            FlagId = set.Flag.FlagId,
            Reason = reason,
            ClearedAt = at is { } t ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(t) : null,
        };

        var bySystem = await Assert.ThrowsAsync<RpcException>(() => system.ClearFlagAsync(Clear("the consumer called back"), cancellationToken: Ct).ResponseAsync);
        var withoutReason = await Assert.ThrowsAsync<RpcException>(() => officer.ClearFlagAsync(Clear(""), cancellationToken: Ct).ResponseAsync);
        var backdated = await Assert.ThrowsAsync<RpcException>(() => officer.ClearFlagAsync(Clear("revoked in writing", effective.AddSeconds(-1)), cancellationToken: Ct).ResponseAsync);
        var inTheFuture = await Assert.ThrowsAsync<RpcException>(() => officer.ClearFlagAsync(Clear("revoked in writing", new DateTimeOffset(9999, 1, 1, 0, 0, 0, TimeSpan.Zero)), cancellationToken: Ct).ResponseAsync);
        var stillSet = (await officer.GetAccountAsync(new GetAccountRequest { AccountId = Account }, cancellationToken: Ct)).Account.Flags.Single(f => f.FlagId == set.Flag.FlagId);
        var cleared = (await officer.ClearFlagAsync(Clear("the consumer revoked the notice in writing"), cancellationToken: Ct)).Flag;

        Assert.Equal(StatusCode.PermissionDenied, bySystem.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, withoutReason.StatusCode);
        Assert.Contains("reason", withoutReason.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, backdated.StatusCode);
        Assert.Contains("cleared_at", backdated.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, inTheFuture.StatusCode);
        Assert.Contains("cleared_at", inTheFuture.Status.Detail, StringComparison.Ordinal);
        Assert.Null(stillSet.ClearedAt);
        Assert.NotNull(cleared.ClearedAt);
        Assert.Equal("the consumer revoked the notice in writing", cleared.ClearReason);
        Assert.NotEmpty(cleared.ClearedBy);
    }

    [Fact]
    public async Task ACollectionSystem_CannotReadComplaints_ExportEvidence_OrWatchIncidents()
    {
        await SeedAsync();
        var channel = server.Channel(server.Keys.CollectionSystem);

        var complaints = await Assert.ThrowsAsync<RpcException>(() => new AuditService.AuditServiceClient(channel).ListComplaintsAsync(new ListComplaintsRequest(), cancellationToken: Ct).ResponseAsync);
        var scores = await Assert.ThrowsAsync<RpcException>(() => new ReportService.ReportServiceClient(channel).GetConductScoresAsync(
            new GetConductScoresRequest { Scope = ScoreScope.Collector }, cancellationToken: Ct).ResponseAsync);
        using var export = new AuditService.AuditServiceClient(channel).ExportEvidence(new ExportEvidenceRequest { AccountId = Account }, cancellationToken: Ct);
        var evidence = await Assert.ThrowsAsync<RpcException>(() => export.ResponseStream.MoveNext(Ct));

        Assert.Equal(StatusCode.PermissionDenied, complaints.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, scores.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, evidence.StatusCode);
    }

    private static string FindReadme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "README.md");
            if (File.Exists(candidate) && Directory.Exists(Path.Combine(dir.FullName, "protos")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("README.md of the repository");
    }

    private bool _seeded;

    private async Task SeedAsync()
    {
        if (_seeded)
        {
            return;
        }

        var channel = server.Channel(server.Keys.Administrator);
        await new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Api.V1.Account
            {
                AccountId = Account,
                BorrowerName = BorrowerName,
                Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
                ContactPoints = { new ContactPoint { ContactPointId = "cp-1", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+86 138 0013 8000" } },
            },
        }, cancellationToken: Ct);
        await new AuditService.AuditServiceClient(channel).RecordComplaintAsync(new RecordComplaintRequest
        {
            Complaint = new Complaint { Source = ComplaintSource.RegulatorHotline, Reference = "12378-1", AccountId = Account, Text = ComplaintText },
        }, cancellationToken: Ct);
        _seeded = true;
    }

    private async Task<Dictionary<Access, string>> OtherLenderKeysAsync()
    {
        var platform = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.PlatformAdmin));
        await platform.CreateLenderAsync(new CreateLenderRequest { Lender = new Lender { LenderId = "other", DisplayName = "Other", CountryCode = "CN" } }, cancellationToken: Ct);
        var keys = new Dictionary<Access, string>();
        foreach (var (role, access) in new[]
                 {
                     (Role.CollectionSystem, Access.CollectionSystem), (Role.ComplianceOfficer, Access.ComplianceOfficer),
                     (Role.Auditor, Access.Auditor), (Role.Administrator, Access.Administrator),
                 })
        {
            keys[access] = (await platform.CreateApiKeyAsync(new CreateApiKeyRequest { LenderId = "other", Role = role }, cancellationToken: Ct)).Secret;
        }

        return keys;
    }

    /// <summary>
    /// Calls a method with a request naming the demo lender's account (every string field "account_id"), through raw
    /// bytes so one loop serves every method; answers the status and the responses' text.
    /// </summary>
    private async Task<(StatusCode Status, string Body)> CallAsync(MethodDescriptor method, string? token)
    {
        var request = (IMessage)Activator.CreateInstance(method.InputType.ClrType)!;
        foreach (var field in method.InputType.Fields.InFieldNumberOrder().Where(f => f.Name == "account_id" && f.FieldType == FieldType.String))
        {
            field.Accessor.SetValue(request, Account);
        }

        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var type = (method.IsClientStreaming, method.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            _ => MethodType.DuplexStreaming,
        };
        var raw = new Method<byte[], byte[]>(type, method.Service.FullName, method.Name, bytes, bytes);
        var headers = new Metadata();
        if (token is not null)
        {
            headers.Add("authorization", token.Length == 0 ? "cmp_not_bearer" : $"Bearer {token}");
        }

        // Watch never ends by itself: a deadline that passes means the call was let in.
        var options = new CallOptions(headers, DateTime.UtcNow.AddSeconds(5), Ct);
        var invoker = server.Channel(null).CreateCallInvoker();
        var body = new System.Text.StringBuilder();
        try
        {
            switch (type)
            {
                case MethodType.Unary:
                    body.Append(System.Text.Encoding.UTF8.GetString(await invoker.AsyncUnaryCall(raw, null, options, request.ToByteArray())));
                    break;
                case MethodType.ServerStreaming:
                    using (var call = invoker.AsyncServerStreamingCall(raw, null, options.WithDeadline(DateTime.UtcNow.AddSeconds(method.Name == "Watch" ? 1 : 5)), request.ToByteArray()))
                    {
                        while (await call.ResponseStream.MoveNext(Ct))
                        {
                            body.Append(System.Text.Encoding.UTF8.GetString(call.ResponseStream.Current));
                        }
                    }

                    break;
                case MethodType.ClientStreaming:
                    using (var call = invoker.AsyncClientStreamingCall(raw, null, options))
                    {
                        await call.RequestStream.CompleteAsync();
                        body.Append(System.Text.Encoding.UTF8.GetString(await call.ResponseAsync));
                    }

                    break;
                default:
                    using (var call = invoker.AsyncDuplexStreamingCall(raw, null, options))
                    {
                        await call.RequestStream.CompleteAsync();
                        while (await call.ResponseStream.MoveNext(Ct))
                        {
                            body.Append(System.Text.Encoding.UTF8.GetString(call.ResponseStream.Current));
                        }
                    }

                    break;
            }

            return (StatusCode.OK, body.ToString());
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded && method.Name == "Watch")
        {
            return (StatusCode.OK, body.ToString());
        }
        catch (RpcException e)
        {
            return (e.StatusCode, body.ToString());
        }
    }
}
