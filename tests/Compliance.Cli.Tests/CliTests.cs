using System.Text.Json;

namespace Compliance.Cli.Tests;

/// <summary>
/// The <c>compliance</c> command line as a person uses it: each command is its own process, against the real server
/// over a socket, with the development keys the server wrote.
/// </summary>
public sealed class CliTests(CliServerFixture server) : IClassFixture<CliServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => CliProcess.RunAsync(server.Endpoint, server.DataDirectory, args);

    private async Task RegisterAsync(string accountId)
    {
        var (code, _, stderr) = await RunAsync("account", "upsert", "--id", accountId, "--name", "Li Wei", "--country", "CN", "--time-zone", "Asia/Shanghai",
            "--phone", "+86 138 0013 8000:mobile");
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task AlertsWatch_ShowsOneCriticalIncident_WhileAnotherTerminalStreamsABlast()
    {
        await RegisterAsync("A-BLAST");
        using var watch = CliProcess.Start(server.Endpoint, server.DataDirectory, "alerts", "watch");
        await watch.WaitForAsync((_, stderr) => stderr.Contains("Watching incidents at", StringComparison.Ordinal), Patience, "subscription");

        var (code, stdout, stderr) = await RunAsync("events", "simulate-blast", "--account", "A-BLAST", "--country", "CN");
        await watch.WaitForAsync((stdout, _) => stdout.Contains("BASE.address-book-blast", StringComparison.Ordinal), Patience, "incident");
        var (listed, incidentsJson, _) = await RunAsync("alerts", "list", "-o", "json");

        Assert.True(code == 0, stderr);
        Assert.Contains("accepted", stdout + stderr, StringComparison.OrdinalIgnoreCase);
        var line = Assert.Single(watch.Stdout.Split('\n'), l => l.Contains("BASE.address-book-blast", StringComparison.Ordinal));
        Assert.Contains("CRITICAL", line, StringComparison.Ordinal);
        Assert.Contains("account=A-BLAST", line, StringComparison.Ordinal);
        Assert.Equal(0, listed);
        using var incidents = JsonDocument.Parse(incidentsJson);
        var blast = Assert.Single(incidents.RootElement.GetProperty("incidents").EnumerateArray(), i => i.GetProperty("accountId").GetString() == "A-BLAST");
        Assert.Equal("BASE.address-book-blast", blast.GetProperty("ruleId").GetString());
        Assert.Matches(@"\bseq=[1-9][0-9]*\b", line);
    }

    [Fact]
    public async Task AlertsWatch_After_ReplaysTheIncidentsAfterASequence_ThenTails_AndANegativeOneIsRefused()
    {
        await RegisterAsync("A-RESUME");
        var (code, _, stderr) = await RunAsync("events", "simulate-blast", "--account", "A-RESUME", "--country", "CN");
        Assert.True(code == 0, stderr);
        var (_, incidentsJson, _) = await RunAsync("alerts", "list", "-o", "json");
        using var incidents = JsonDocument.Parse(incidentsJson);
        var stored = Assert.Single(incidents.RootElement.GetProperty("incidents").EnumerateArray(), i => i.GetProperty("accountId").GetString() == "A-RESUME");
        var sequence = long.Parse(stored.GetProperty("sequence").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

        // Resumed from just before it: the stored incident comes first, with its sequence.
        using var watch = CliProcess.Start(server.Endpoint, server.DataDirectory, "alerts", "watch", "--after", $"{sequence - 1}");
        await watch.WaitForAsync((stdout, _) => stdout.Contains("account=A-RESUME", StringComparison.Ordinal), Patience, "replayed incident");
        var refused = await RunAsync("alerts", "watch", "--after", "-1");

        var line = Assert.Single(watch.Stdout.Split('\n'), l => l.Contains("account=A-RESUME", StringComparison.Ordinal));
        Assert.Contains($"seq={sequence}", line, StringComparison.Ordinal);
        Assert.Contains($"after sequence {sequence - 1}", watch.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("--after", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GateCheck_ExitCodes_TellAllowDenyAndBadInputApart()
    {
        await RegisterAsync("A-GATE");

        var allowed = await RunAsync("gate", "check", "--account", "A-GATE", "--collector", "collector-1", "--channel", "call", "--contact-point", "cp-1",
            "--at", "2026-12-01T10:00:00+08:00");
        var thirdParty = await RunAsync("gate", "check", "--account", "A-GATE", "--collector", "collector-1", "--channel", "call", "--phone", "+86 139 0000 0001",
            "--at", "2026-12-01T10:00:00+08:00");
        var lateEvening = await RunAsync("gate", "check", "--account", "A-GATE", "--collector", "collector-1", "--channel", "call", "--contact-point", "cp-1",
            "--at", "2026-12-01T22:00:00+08:00");
        var unknownPoint = await RunAsync("gate", "check", "--account", "A-GATE", "--collector", "collector-1", "--channel", "call", "--contact-point", "cp-9");

        Assert.True(allowed.ExitCode == 0, allowed.Stdout + allowed.Stderr);
        Assert.Equal(3, thirdParty.ExitCode);
        Assert.Contains("third", thirdParty.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(3, lateEvening.ExitCode);
        Assert.Equal(2, unknownPoint.ExitCode);
        Assert.Contains("contact_point_id", unknownPoint.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportRun_IssuesOnce_AndGetWritesTheHtmlPage()
    {
        var html = Path.Combine(server.DataDirectory, "daily-2026-01-05.html");

        var first = await RunAsync("report", "run", "--kind", "daily", "--date", "2026-01-05");
        var again = await RunAsync("report", "run", "--kind", "daily", "--date", "2026-01-05");
        var get = await RunAsync("report", "get", "daily-2026-01-05", "--format", "html", "--out", html);
        var list = await RunAsync("report", "list");
        var refused = await RunAsync("--as", "collection-system", "report", "list");

        Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);
        Assert.Contains("empty: nothing was recorded in the period", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("already issued", again.Stdout, StringComparison.Ordinal);
        Assert.True(get.ExitCode == 0, get.Stderr);
        Assert.Contains("Empty period.", await File.ReadAllTextAsync(html, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Contains("daily-2026-01-05", list.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, refused.ExitCode);
    }

    [Fact]
    public async Task ReportRun_ShowsTheBuildsProgress_AsTheServiceTellsIt()
    {
        // Another replica (this test, on the server's database file) claims the day's report and has counted half of its
        // events when a person runs it: the run waits for that build, and the command line shows how far it has come.
        var store = new Compliance.Storage.SqliteStore(Path.Combine(server.DataDirectory, "compliance.db"));
        var period = Compliance.Domain.Reports.ReportPeriod.Of(Compliance.Domain.Reports.ReportKind.Daily, new DateOnly(2026, 1, 7), TimeZoneInfo.Utc);
        var key = new Compliance.Storage.ReportKey("demo", "daily-2026-01-07", period.Kind, period.Start, period.End, "", "UTC");
        var claim = await store.ClaimReportAsync(key, "replica-2", "schedule", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken);
        await store.ReportProgressAsync(key, "replica-2", 1_500, 3_000, TestContext.Current.CancellationToken);

        using var run = CliProcess.Start(server.Endpoint, server.DataDirectory, "report", "run", "--kind", "daily", "--date", "2026-01-07");
        await run.WaitForAsync((_, stderr) => stderr.Contains("Building daily-2026-01-07: 1,500 of 3,000 events (50%)", StringComparison.Ordinal), Patience, "progress");
        await store.ReleaseReportClaimAsync(key, "replica-2", TestContext.Current.CancellationToken); // it gives up; the run builds the report itself
        var code = await run.ExitAsync(Patience);

        Assert.Equal(Compliance.Storage.ReportClaimOutcome.Claimed, claim.Outcome);
        Assert.True(code == 0, run.Stdout + run.Stderr);
        Assert.Contains("daily-2026-01-07", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Built in", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongNumber_CallIn_ValidationNotice_AndConsentWindow_AreRecordedFromTheCommandLine()
    {
        var (registered, _, registerErr) = await RunAsync("account", "upsert", "--id", "A-REGF", "--name", "Jane Roe", "--country", "US", "--region", "US-NY",
            "--time-zone", "America/New_York", "--phone", "+1 212 555 0134:mobile", "--phone", "+1 212 555 0136:home");
        var now = DateTimeOffset.UtcNow;

        var wrong = await RunAsync("flag", "wrong-number", "A-REGF", "--contact-point", "cp-2", "--source", "reassigned-numbers-check");
        var consent = await RunAsync("flag", "set", "A-REGF", "--type", "consent", "--channel", "call", "--from", $"{now.AddMinutes(-1):O}",
            "--window-start", $"{now.AddDays(2):O}", "--expires", $"{now.AddDays(3):O}");
        var callIn = await RunAsync("events", "call-in", "--account", "A-REGF", "--collector", "collector-1", "--contact-point", "cp-1", "--seconds", "240");
        var notice = await RunAsync("events", "validation-notice", "--account", "A-REGF", "--delivery", "oral", "--channel", "call");
        var gate = await RunAsync("gate", "check", "--account", "A-REGF", "--collector", "collector-1", "--channel", "call", "--contact-point", "cp-1");
        var toWrongNumber = await RunAsync("gate", "check", "--account", "A-REGF", "--collector", "collector-1", "--channel", "call", "--contact-point", "cp-2");

        Assert.True(registered == 0, registerErr);
        Assert.True(wrong.ExitCode == 0, wrong.Stderr);
        Assert.Contains("wrong-number", wrong.Stdout, StringComparison.Ordinal);
        Assert.Contains("source reassigned-numbers-check", wrong.Stdout, StringComparison.Ordinal);
        Assert.True(consent.ExitCode == 0, consent.Stderr);
        Assert.Contains("window from", consent.Stdout, StringComparison.Ordinal);
        Assert.True(callIn.ExitCode == 0, callIn.Stdout + callIn.Stderr);
        Assert.Contains("accepted", callIn.Stdout, StringComparison.Ordinal);
        Assert.True(notice.ExitCode == 0, notice.Stdout + notice.Stderr);
        // The call-in was a conversation: no call for seven days (and, at night in New York, the hours deny too).
        Assert.Equal(3, gate.ExitCode);
        Assert.Contains("US-REGF.wait-after-conversation", gate.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, toWrongNumber.ExitCode);
        Assert.Contains("US-REGF.third-parties", toWrongNumber.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditVerify_FindsTheRecordIntact()
    {
        await RegisterAsync("A-AUDIT");
        // A decision recorded in the ledger (allowed or denied, by the hour in Shanghai when the test runs).
        var decided = await RunAsync("gate", "check", "--account", "A-AUDIT", "--collector", "collector-1", "--channel", "call", "--contact-point", "cp-1", "--authorize");

        var (code, stdout, stderr) = await RunAsync("audit", "verify");

        Assert.Contains(decided.ExitCode, new[] { 0, 3 });
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("VALID", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CollectorList_SaysSinceWhenACollectorIsInactive()
    {
        var upserted = await RunAsync("collector", "upsert", "--id", "c-left", "--agency", "in-house", "--name", "Left us", "--inactive");
        var listed = await RunAsync("collector", "list", "--agency", "in-house");

        Assert.Equal(0, upserted.ExitCode);
        var line = Assert.Single(listed.Stdout.Split('\n'), l => l.StartsWith("c-left ", StringComparison.Ordinal));
        Assert.Matches(@"no, since \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", line);
        Assert.Contains("collector-1", listed.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyProfile_SaysTheBaselineIsRequired_WhatViolationsWeigh_AndHowLongALawKeepsRecords()
    {
        var baseline = await RunAsync("policy", "profile", "BASE");
        var regulationF = await RunAsync("policy", "profile", "US-REGF");
        await File.WriteAllTextAsync(Path.Combine(server.DataDirectory, "no-base.yaml"), "profiles: { exclude: [BASE] }\n", TestContext.Current.CancellationToken);
        var excluding = await RunAsync("policy", "validate", Path.Combine(server.DataDirectory, "no-base.yaml"));

        Assert.Equal(0, baseline.ExitCode);
        Assert.Contains("(required: a policy cannot exclude it)", baseline.Stdout, StringComparison.Ordinal);
        Assert.Contains("critical 70, high 35, medium 15, low 5; shadow rules 0.25 of that", baseline.Stdout, StringComparison.Ordinal);
        Assert.Contains("1096 days after the last activity on the debt (12 CFR 1006.100)", regulationF.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, excluding.ExitCode);
        Assert.Contains("profiles.exclude[0]: profile 'BASE' applies to every account and cannot be excluded", excluding.Stdout + excluding.Stderr, StringComparison.Ordinal);
    }
}
