using System.Net;
using Compliance.Api.V1;
using Grpc.Core;

namespace Compliance.Console.Tests;

/// <summary>The console over real HTTP/1.1 sockets of a running server: sign-in, cookies, forms, tenancy, escaping, logs.</summary>
public sealed class ConsoleHttpTests(ConsoleServer server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ConsoleClient Client() => new(server.ConsoleUrl);

    [Fact]
    public async Task TheConsolePort_ServesPrometheusScrape_WithoutASignIn()
    {
        using var client = Client();
        using var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("# TYPE compliance_ingest_queue_depth gauge", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_WithAnOfficersKey_SetsAnHttpOnlyStrictCookie_ThatDoesNotHoldTheKey()
    {
        using var client = Client();

        using var response = await client.SignInAsync(server.A.ComplianceOfficer);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/reports", response.Headers.Location?.ToString());
        var session = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("compliance_console=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Secret(server.A.ComplianceOfficer), session, StringComparison.Ordinal);
        var reports = await client.GetPageAsync("/reports");
        Assert.Contains("Compliance officer", reports, StringComparison.Ordinal);
        Assert.Contains(ConsoleServer.LenderA, reports, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auditor")]
    [InlineData("administrator")]
    public async Task AuditorsAndAdministrators_MaySignIn(string role)
    {
        using var client = Client();

        using var response = await client.SignInAsync(role == "auditor" ? server.A.Auditor : server.A.Administrator);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Contains(role == "auditor" ? "Auditor" : "Administrator", await client.GetPageAsync("/complaints"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACollectionSystemKey_IsRefused_WithAClearMessage_AndNoSession()
    {
        using var client = Client();

        using var response = await client.SignInAsync(server.A.CollectionSystem);
        var page = await response.Content.ReadAsStringAsync(Ct);
        using var after = await client.GetAsync("/complaints");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("collection system", page, StringComparison.Ordinal);
        Assert.Contains("compliance officer", page, StringComparison.Ordinal);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("compliance_console=", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Found, after.StatusCode);
        Assert.Equal("/sign-in", after.Headers.Location?.ToString());
    }

    [Fact]
    public async Task UnknownAndPlatformKeys_AreRefused()
    {
        using var client = Client();

        using var unknown = await client.SignInAsync("cmp_0000000000000000_notakey");
        using var platform = await client.SignInAsync(server.PlatformKey);

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, platform.StatusCode);
        Assert.Contains("belongs to no lender", await platform.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignInAndSignOut_WithoutTheFormToken_AreRefused()
    {
        using var client = Client();
        using var withoutToken = await client.SignInAsync(server.A.ComplianceOfficer, withToken: false);
        using var signedIn = await client.SignInAsync(server.A.ComplianceOfficer);

        using var signOutWithoutToken = await client.PostFormAsync("/sign-out", new Dictionary<string, string>(), withToken: false);
        using var stillIn = await client.GetAsync("/complaints");
        using var signOut = await client.PostFormAsync("/sign-out", new Dictionary<string, string>(), formPage: "/complaints");
        using var signedOut = await client.GetAsync("/complaints");

        Assert.Equal(HttpStatusCode.BadRequest, withoutToken.StatusCode);
        Assert.False(withoutToken.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("compliance_console=", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Found, signedIn.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, signOutWithoutToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stillIn.StatusCode);
        Assert.Equal(HttpStatusCode.Found, signOut.StatusCode);
        Assert.Equal("/sign-in", signedOut.Headers.Location?.ToString());
    }

    [Fact]
    public async Task ALendersConsole_ShowsItsOwnComplaintsAndIncidents_AndNeverAnotherLenders()
    {
        using var a = Client();
        using var b = Client();
        await a.SignInAsync(server.A.Auditor);
        await b.SignInAsync(server.B.Auditor);

        var complaintsA = await a.GetPageAsync("/complaints");
        var complaintsB = await b.GetPageAsync("/complaints");
        var incidentsA = await a.GetPageAsync("/incidents");
        var incidentsB = await b.GetPageAsync("/incidents");

        Assert.Contains($"{ConsoleServer.LenderA}-REF-1", complaintsA, StringComparison.Ordinal);
        Assert.DoesNotContain(ConsoleServer.LenderB, complaintsA, StringComparison.Ordinal);
        Assert.Contains(ConsoleServer.ComplaintTextB, complaintsB, StringComparison.Ordinal);
        Assert.DoesNotContain(ConsoleServer.AccountA, complaintsB, StringComparison.Ordinal);
        Assert.Contains("BASE.address-book-blast", incidentsA, StringComparison.Ordinal);
        Assert.Contains(ConsoleServer.AccountA, incidentsA, StringComparison.Ordinal);
        Assert.DoesNotContain(ConsoleServer.AccountB, incidentsA, StringComparison.Ordinal);
        Assert.Contains(ConsoleServer.AccountB, incidentsB, StringComparison.Ordinal);
        Assert.DoesNotContain(ConsoleServer.AccountA, incidentsB, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reports_AreListedAndFramed_ForTheirLenderOnly()
    {
        using var a = Client();
        using var b = Client();
        await a.SignInAsync(server.A.ComplianceOfficer);
        await b.SignInAsync(server.B.ComplianceOfficer);
        var monthly = $"/reports/{Uri.EscapeDataString(server.MonthlyReportIdA)}";

        var listA = await a.GetPageAsync("/reports");
        var listB = await b.GetPageAsync("/reports?kind=daily");
        var page = await a.GetPageAsync(monthly);
        using var document = await a.GetAsync($"{monthly}/document");
        var html = await document.Content.ReadAsStringAsync(Ct);
        using var json = await a.GetAsync($"{monthly}/download/json");
        using var foreignPage = await b.GetAsync(monthly);
        using var foreignDocument = await b.GetAsync($"{monthly}/document");
        using var foreignJson = await b.GetAsync($"{monthly}/download/json");

        Assert.Contains($"href=\"{monthly}\"", listA, StringComparison.Ordinal);
        Assert.Contains("Monthly audit report", listA, StringComparison.Ordinal);
        Assert.DoesNotContain(server.MonthlyReportIdA, listB, StringComparison.Ordinal);
        Assert.Contains(Uri.EscapeDataString(server.DailyReportIdB), listB, StringComparison.Ordinal);
        Assert.Contains($"src=\"{monthly}/document\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.Equal("text/html", document.Content.Headers.ContentType?.MediaType);
        Assert.Contains("sandbox", document.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("<table", html, StringComparison.Ordinal);
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", json.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(HttpStatusCode.NotFound, foreignPage.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, foreignDocument.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, foreignJson.StatusCode);
        Assert.DoesNotContain("<svg", await foreignDocument.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherLendersEvidence_IsNotFound_AndTheOwnIsAZip()
    {
        using var b = Client();
        using var a = Client();
        await b.SignInAsync(server.B.ComplianceOfficer);
        await a.SignInAsync(server.A.ComplianceOfficer);

        using var foreign = await b.PostFormAsync("/evidence", new Dictionary<string, string> { ["account"] = ConsoleServer.AccountA }, formPage: "/evidence");
        using var own = await a.PostFormAsync("/evidence",
            new Dictionary<string, string> { ["account"] = ConsoleServer.AccountA, ["complaint"] = server.ComplaintIdA }, formPage: "/complaints");
        var zip = await own.Content.ReadAsByteArrayAsync(Ct);

        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal("text/html", foreign.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal("application/zip", own.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", own.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("PK"u8.ToArray(), zip[..2]);
    }

    [Fact]
    public async Task AnEvidenceExport_WithoutTheFormToken_IsRefused()
    {
        using var a = Client();
        await a.SignInAsync(server.A.ComplianceOfficer);

        using var response = await a.PostFormAsync("/evidence", new Dictionary<string, string> { ["account"] = ConsoleServer.AccountA }, withToken: false);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotEqual("application/zip", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task StoredText_IsEscaped()
    {
        using var a = Client();
        await a.SignInAsync(server.A.ComplianceOfficer);

        var page = await a.GetPageAsync("/complaints");

        Assert.DoesNotContain("<script>alert", page, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;", page, StringComparison.Ordinal);
        Assert.Contains("my boss &amp; my friends", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PagesAnswerOnlyOnTheConsolePort_AndTheApiOnlyOnItsOwn()
    {
        using var api = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var apiPage = await api.GetAsync($"{server.Server.Endpoint}/sign-in", Ct);
        using var console = Client();
        using var grpcOnConsole = await console.GetAsync("/grpc.health.v1.Health/Check");

        Assert.Equal(HttpStatusCode.NotFound, apiPage.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, grpcOnConsole.StatusCode);
        var health = await new Grpc.Health.V1.Health.HealthClient(server.Channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), cancellationToken: Ct);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task TheKey_AppearsInNoUrl_AndInNoLog()
    {
        using var client = Client();
        var key = server.A.ComplianceOfficer;
        using var signIn = await client.SignInAsync(key);
        foreach (var path in new[] { "/", "/reports", "/incidents", "/complaints", "/evidence" })
        {
            (await client.GetAsync(path)).Dispose();
        }

        using var other = Client();
        using var refused = await other.SignInAsync(server.A.CollectionSystem);
        using var evidence = await client.PostFormAsync("/evidence", new Dictionary<string, string> { ["account"] = ConsoleServer.AccountA }, formPage: "/evidence");

        Assert.Equal(HttpStatusCode.Found, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.OK, evidence.StatusCode);
        Assert.True(client.UrlsSeen.Count > 10, $"only {client.UrlsSeen.Count} URLs seen");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain(client.UrlsSeen, u => u.Contains(Secret(key), StringComparison.Ordinal));
        // The log was written at Trace level for every category; it names keys by their id only.
        await Task.Delay(500, Ct);
        var log = server.Server.Output;
        Assert.Contains("Console sign-in with key", log, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret(key), log, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret(server.A.CollectionSystem), log, StringComparison.Ordinal);
    }

    /// <summary>The secret part of a token "cmp_&lt;key id&gt;_&lt;secret&gt;" (the key id may be shown).</summary>
    private static string Secret(string token) => token[(token.IndexOf('_', 4) + 1)..];
}
