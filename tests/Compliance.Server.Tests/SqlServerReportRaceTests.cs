using System.Text.Json;
using Compliance.Api.V1;
using Compliance.Storage.Tests;
using Grpc.Net.Client;

namespace Compliance.Server.Tests;

/// <summary>
/// Two server processes on one SQL Server database, as two replicas run: both asked for the same report period at once,
/// they issue one report (the claim row's unique key admits one builder; the other returns that report). Skipped, with
/// the reason, where no container engine runs.
/// </summary>
public sealed class SqlServerReportRaceTests(SqlServerContainerFixture fixture) : IClassFixture<SqlServerContainerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoServerProcesses_RunningTheSameDay_IssueOneReport()
    {
        var database = await fixture.NewDatabaseAsync();
        var directory = Directory.CreateTempSubdirectory("compliance-replicas-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["COMPLIANCE__STORE__PROVIDER"] = "SqlServer",
            ["COMPLIANCE__STORE__CONNECTIONSTRING"] = database,
            // Only the manual runs race here, not the schedule's catch-up.
            ["COMPLIANCE__REPORTS__SCHEDULE"] = "false",
        };
        try
        {
            // The first replica creates the schema and the demo lender (writing its keys); the second finds both.
            await using var first = ServerProcess.Start(directory, environment);
            await first.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            var keys = await KeysAsync(directory);
            await using var second = ServerProcess.Start(directory, environment);
            await second.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            using var channelA = GrpcChannel.ForAddress(first.Endpoint);
            using var channelB = GrpcChannel.ForAddress(second.Endpoint);
            var officer = new Grpc.Core.Metadata { { "authorization", $"Bearer {keys.Officer}" } };
            var request = new RunReportRequest { Kind = ReportKind.Daily, PeriodStart = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-2)) };

            var runs = await Task.WhenAll(
                new ReportService.ReportServiceClient(channelA).RunReportAsync(request, officer, cancellationToken: Ct).ResponseAsync,
                new ReportService.ReportServiceClient(channelB).RunReportAsync(request, officer, cancellationToken: Ct).ResponseAsync,
                new ReportService.ReportServiceClient(channelA).RunReportAsync(request, officer, cancellationToken: Ct).ResponseAsync,
                new ReportService.ReportServiceClient(channelB).RunReportAsync(request, officer, cancellationToken: Ct).ResponseAsync);
            var listed = (await new ReportService.ReportServiceClient(channelB).ListReportsAsync(new ListReportsRequest(), officer, cancellationToken: Ct)).Reports;

            Assert.Single(runs.Select(r => r.Report.ReportId).Distinct());
            Assert.Single(runs.Select(r => r.Report.ContentSha256).Distinct());
            Assert.Single(runs, r => !r.AlreadyIssued);
            Assert.Equal(runs[0].Report.ReportId, Assert.Single(listed).ReportId);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<(string Officer, string Auditor)> KeysAsync(string directory)
    {
        var file = Path.Combine(directory, Infrastructure.Startup.KeyFileName);
        for (var i = 0; i < 600 && !File.Exists(file); i++)
        {
            await Task.Delay(100, Ct);
        }

        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(file, Ct));
        var keys = document.RootElement.GetProperty("keys");
        return (keys.GetProperty("compliance_officer").GetString()!, keys.GetProperty("auditor").GetString()!);
    }
}
