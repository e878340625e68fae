using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Compliance.Api.V1;
using Api = Compliance.Api;
using Compliance.Server.Tests;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compliance.Console.Tests;

/// <summary>
/// The built server as its own process with the console on a second port, and two lenders seeded through the real
/// API: keys of every role, an account each, a complaint each and an address-book blast each (an incident).
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    public const string LenderA = "alpha-bank";
    public const string LenderB = "bravo-bank";
    public const string AccountA = "ALPHA-1";
    public const string AccountB = "BRAVO-1";
    /// <summary>A complaint text that would run script if it were not escaped.</summary>
    public const string ComplaintTextA = "Alpha borrower says: <script>alert('x')</script> they called my boss & my friends.";
    public const string ComplaintTextB = "Bravo borrower complaint, confidential to Bravo.";

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("compliance-console-").FullName;
    private readonly string _platformKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(36));
    private ServerProcess? _server;
    private GrpcChannel? _channel;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    public Uri ConsoleUrl { get; private set; } = null!;

    public LenderKeys A { get; private set; } = null!;

    public LenderKeys B { get; private set; } = null!;

    public string PlatformKey => _platformKey;

    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("Not started.");

    public string ComplaintIdA { get; private set; } = "";

    /// <summary>Lender A's monthly report for last month, built from imported history with violations.</summary>
    public string MonthlyReportIdA { get; private set; } = "";

    /// <summary>Lender B's daily report for yesterday.</summary>
    public string DailyReportIdB { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var consolePort = FreePort();
        ConsoleUrl = new Uri($"http://127.0.0.1:{consolePort}");
        _server = ServerProcess.Start(_dataDirectory, new Dictionary<string, string>
        {
            ["COMPLIANCE__CONSOLE__URL"] = ConsoleUrl.ToString().TrimEnd('/'),
            ["COMPLIANCE__AUTH__DEMOLENDER"] = "false",
            ["COMPLIANCE__AUTH__PLATFORMADMINKEY"] = _platformKey,
            // As talkative as the service gets, so the log test would see a key that leaked anywhere.
            ["Logging__LogLevel__Default"] = "Trace",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
        });
        await _server.WaitUntilListeningAsync(TimeSpan.FromSeconds(90));
        await WaitForConsoleAsync();
        _channel = GrpcChannel.ForAddress(_server.Endpoint);
        A = await SeedLenderAsync(LenderA, AccountA, ComplaintTextA);
        B = await SeedLenderAsync(LenderB, AccountB, ComplaintTextB);
        MonthlyReportIdA = await LastMonthAsync(A, AccountA);
        var reports = new ReportService.ReportServiceClient(Channel);
        DailyReportIdB = (await reports.RunReportAsync(new RunReportRequest { Kind = ReportKind.Daily, PeriodStart = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)) },
            Bearer(B.ComplianceOfficer))).Report.ReportId;
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    private async Task<LenderKeys> SeedLenderAsync(string lenderId, string accountId, string complaintText)
    {
        var registry = new RegistryService.RegistryServiceClient(Channel);
        await registry.CreateLenderAsync(new CreateLenderRequest { Lender = new Lender { LenderId = lenderId, DisplayName = lenderId, CountryCode = "US" } },
            Bearer(_platformKey));
        async Task<string> KeyAsync(Role role) =>
            (await registry.CreateApiKeyAsync(new CreateApiKeyRequest { LenderId = lenderId, Role = role, DisplayName = $"{lenderId} {role}" }, Bearer(_platformKey))).Secret;
        var keys = new LenderKeys(lenderId, await KeyAsync(Role.CollectionSystem), await KeyAsync(Role.ComplianceOfficer), await KeyAsync(Role.Auditor),
            await KeyAsync(Role.Administrator));

        var admin = Bearer(keys.Administrator);
        await registry.UpsertAgencyAsync(new UpsertAgencyRequest { Agency = new Agency { AgencyId = "in-house", DisplayName = "In-house", Active = true } }, admin);
        await registry.UpsertCollectorAsync(new UpsertCollectorRequest
        {
            Collector = new Collector { CollectorId = "collector-1", AgencyId = "in-house", DisplayName = "Collector", Kind = CollectorKind.Human, Active = true },
        }, admin);
        await registry.UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = accountId,
                BorrowerId = $"borrower-{accountId}",
                BorrowerName = "Pat Doe",
                Location = new Location { Region = "US-NY" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+1 212 555 0134" } },
            },
        }, admin);

        var complaint = await new AuditService.AuditServiceClient(Channel).RecordComplaintAsync(new RecordComplaintRequest
        {
            Complaint = new Complaint { Source = ComplaintSource.RegulatorHotline, Reference = $"{lenderId}-REF-1", AccountId = accountId, Text = complaintText },
        }, Bearer(keys.ComplianceOfficer));
        if (lenderId == LenderA)
        {
            ComplaintIdA = complaint.Complaint.ComplaintId;
        }

        await BlastAsync(keys, accountId);
        return keys;
    }

    /// <summary>
    /// Last month's history through ImportHistory (nine calls in an hour to the borrower's mobile, one at night, texts to
    /// five numbers that are not the borrower's) and a complaint, then the monthly report of that month.
    /// </summary>
    private async Task<string> LastMonthAsync(LenderKeys keys, string accountId)
    {
        var now = DateTimeOffset.UtcNow;
        var day = new DateTimeOffset(now.Year, now.Month, 1, 15, 0, 0, TimeSpan.Zero).AddMonths(-1).AddDays(9);
        var events = Enumerable.Range(0, 9).Select(i => new Event
            {
                EventId = $"{accountId}-call-{i}",
                AccountId = accountId,
                CollectorId = "collector-1",
                OccurredAt = Timestamp.FromDateTimeOffset(day.AddMinutes(6 * i)),
                Channel = Api.V1.Channel.VoiceCall,
                Destination = new Destination { ContactPointId = "mobile" },
                CallPlaced = new CallPlaced { CallId = $"{accountId}-call-{i}" },
            })
            .Append(new Event
            {
                EventId = $"{accountId}-night-call",
                AccountId = accountId,
                CollectorId = "collector-1",
                OccurredAt = Timestamp.FromDateTimeOffset(day.AddDays(3).AddHours(-12)),
                Channel = Api.V1.Channel.VoiceCall,
                Destination = new Destination { ContactPointId = "mobile" },
                CallPlaced = new CallPlaced { CallId = $"{accountId}-night-call" },
            })
            .Concat(Enumerable.Range(0, 5).Select(i => new Event
            {
                EventId = $"{accountId}-old-text-{i}",
                AccountId = accountId,
                CollectorId = "collector-1",
                OccurredAt = Timestamp.FromDateTimeOffset(day.AddDays(5).AddMinutes(i)),
                Channel = Api.V1.Channel.Sms,
                Destination = new Destination { PhoneNumber = $"+1 202 555 01{50 + i}" },
                Purpose = ContactPurpose.PassMessage,
                MessageSent = new MessageSent { Body = "Please ask Pat to call us back." },
            }));
        var request = new ImportHistoryRequest();
        request.Events.AddRange(events);
        using (var call = new EventIngestService.EventIngestServiceClient(Channel).ImportHistory(Bearer(keys.Administrator)))
        {
            await call.RequestStream.WriteAsync(request);
            await call.RequestStream.CompleteAsync();
            var imported = await call.ResponseAsync;
            if (imported.Imported != request.Events.Count)
            {
                throw new InvalidOperationException($"Imported {imported.Imported} of {request.Events.Count} events.");
            }
        }

        await new AuditService.AuditServiceClient(Channel).RecordComplaintAsync(new RecordComplaintRequest
        {
            Complaint = new Complaint
            {
                Source = ComplaintSource.Borrower, Reference = "LETTER-7", AccountId = accountId, Text = "Nine calls in one hour.",
                ReceivedAt = Timestamp.FromDateTimeOffset(day.AddDays(1)),
            },
        }, Bearer(keys.ComplianceOfficer));
        var report = await new ReportService.ReportServiceClient(Channel).RunReportAsync(
            new RunReportRequest { Kind = ReportKind.Monthly, PeriodStart = Timestamp.FromDateTimeOffset(day) }, Bearer(keys.Auditor));
        return report.Report.ReportId;
    }

    /// <summary>Texts to six numbers that are not the borrower's within minutes: the address-book blast incident.</summary>
    private async Task BlastAsync(LenderKeys keys, string accountId)
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-10);
        var request = new StreamRequest();
        request.Events.AddRange(Enumerable.Range(0, 6).Select(i => new Event
        {
            EventId = $"{accountId}-blast-{i}",
            AccountId = accountId,
            CollectorId = "collector-1",
            OccurredAt = Timestamp.FromDateTimeOffset(now.AddMinutes(i)),
            Channel = Api.V1.Channel.Sms,
            Destination = new Destination { PhoneNumber = $"+1 202 555 01{i:00}" },
            Purpose = ContactPurpose.PassMessage,
            MessageSent = new MessageSent { Body = "Please ask Pat to call us back." },
        }));
        using var call = new EventIngestService.EventIngestServiceClient(Channel).Stream(Bearer(keys.CollectionSystem));
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        var acks = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            acks += call.ResponseStream.Current.Acks.Count;
        }

        if (acks != 6)
        {
            throw new InvalidOperationException($"Expected 6 acknowledgements, got {acks}.");
        }
    }

    private async Task WaitForConsoleAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(ConsoleUrl.Host, ConsoleUrl.Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The API keys of one lender, one per role.</summary>
public sealed record LenderKeys(string LenderId, string CollectionSystem, string ComplianceOfficer, string Auditor, string Administrator);
