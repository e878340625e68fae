using System.Globalization;
using Compliance.Api.V1;
using Compliance.Server.Security;
using Compliance.Server.Services;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Net.Http.Headers;

namespace Compliance.Server.WebConsole;

/// <summary>
/// The console's pages. GETs only read; the three POSTs (sign-in, sign-out, evidence export, which is recorded in the
/// ledger) carry an antiforgery token. Every read goes through the gRPC services in-process as the signed-in key.
/// </summary>
internal static class ConsoleEndpoints
{
    private const string HtmlType = "text/html; charset=utf-8";

    public static void Map(IEndpointRouteBuilder app)
    {
        var console = app.MapGroup("").WithMetadata(ConsoleEndpoint.PageMetadata.Instance);
        console.MapGet("/", async (HttpContext http, ConsoleSession session) =>
            Results.Redirect(await session.CurrentAsync(http) is null ? "/sign-in" : "/reports"));
        console.MapGet("/sign-in", async (HttpContext http, ConsoleSession session, IAntiforgery antiforgery) =>
            await session.CurrentAsync(http) is null ? SignInPage(http, antiforgery, null, StatusCodes.Status200OK) : Results.Redirect("/reports"));
        console.MapPost("/sign-in", SignInAsync);
        console.MapPost("/sign-out", async (HttpContext http, ConsoleSession session, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
            {
                return FormRefused(http, antiforgery);
            }

            session.SignOut(http);
            return Results.Redirect("/sign-in");
        });

        console.MapGet("/reports", (HttpContext http, string? kind, string? page) => WithCaller(http, async caller =>
        {
            var reportKind = Parse(kind, ReportKind.Unspecified);
            try
            {
                var list = await InProcessCalls.CallAsync<ReportGrpcService, ListReportsResponse>(http, caller, nameof(ReportGrpcService.ListReports),
                    (s, c) => s.ListReports(new ListReportsRequest { Kind = reportKind, PageSize = 50, PageToken = page ?? "" }, c));
                return Page(http, caller, "Reports", "/reports", ConsoleViews.Reports(list, reportKind, null));
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
            {
                return Page(http, caller, "Reports", "/reports",
                    ConsoleViews.Reports(null, reportKind, "This server does not build period reports yet: ReportService answers UNIMPLEMENTED."));
            }
        }));
        console.MapGet("/reports/{id}", (HttpContext http, string id) => WithCaller(http, async caller =>
        {
            var report = await GetReportAsync(http, caller, id, ReportFormat.Json);
            return Page(http, caller, $"{ConsoleViews.KindLabel(report.Report.Kind)} report", "/reports", ConsoleViews.Report(report.Report));
        }));
        console.MapGet("/reports/{id}/document", (HttpContext http, string id) => WithCaller(http, async caller =>
        {
            var report = await GetReportAsync(http, caller, id, ReportFormat.Html);
            // The service's own rendering, framed by the report page: styles of its own, no scripts, nothing fetched.
            http.Response.Headers.ContentSecurityPolicy =
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'; sandbox allow-same-origin";
            http.Response.Headers.XFrameOptions = "SAMEORIGIN";
            return Results.Bytes(report.Content.Memory, ContentTypeOr(report.ContentType, HtmlType));
        }));
        console.MapGet("/reports/{id}/download/{format}", (HttpContext http, string id, string format) => WithCaller(http, async caller =>
        {
            var wanted = Parse(format, ReportFormat.Unspecified);
            if (wanted == ReportFormat.Unspecified)
            {
                return Page(http, caller, "Not found", "/reports", ConsoleViews.Notice("Not found", "Reports download as json, csv or html."), StatusCodes.Status404NotFound);
            }

            var report = await GetReportAsync(http, caller, id, wanted);
            var contentType = ContentTypeOr(report.ContentType, "application/octet-stream");
            return Results.File(report.Content.ToByteArray(), contentType, $"report-{report.Report.ReportId}.{Extension(contentType, format)}");
        }));

        console.MapGet("/incidents", (HttpContext http, string? severity, string? page, TimeProvider clock) => WithCaller(http, async caller =>
        {
            var minimum = Parse(severity, Severity.Unspecified);
            var list = await InProcessCalls.CallAsync<AlertGrpcService, ListIncidentsResponse>(http, caller, nameof(AlertGrpcService.ListIncidents),
                (s, c) => s.ListIncidents(new ListIncidentsRequest { MinSeverity = minimum, PageSize = 100, PageToken = page ?? "" }, c));
            return Page(http, caller, "Incidents", "/incidents", ConsoleViews.Incidents(list, minimum, clock.GetUtcNow()));
        }));
        console.MapGet("/complaints", (HttpContext http, string? status, string? page, TimeProvider clock, IAntiforgery antiforgery) => WithCaller(http, async caller =>
        {
            var wanted = Parse(status, ComplaintStatus.Unspecified);
            var list = await InProcessCalls.CallAsync<AuditGrpcService, ListComplaintsResponse>(http, caller, nameof(AuditGrpcService.ListComplaints),
                (s, c) => s.ListComplaints(new ListComplaintsRequest { Status = wanted, PageSize = 100, PageToken = page ?? "" }, c));
            return Page(http, caller, "Complaints", "/complaints", ConsoleViews.Complaints(list, wanted, clock.GetUtcNow(), AntiforgeryField(http, antiforgery)));
        }));
        console.MapGet("/evidence", (HttpContext http, string? account, string? complaint, IAntiforgery antiforgery) => WithCaller(http, caller =>
            Task.FromResult(Page(http, caller, "Evidence pack", "/evidence",
                ConsoleViews.Evidence(AntiforgeryField(http, antiforgery), null, account ?? "", "", "", complaint ?? "")))));
        console.MapPost("/evidence", ExportEvidenceAsync);

        console.MapGet("/console.css", () => Asset("console.css", "text/css; charset=utf-8"));
        console.MapGet("/console.js", () => Asset("console.js", "text/javascript; charset=utf-8"));
    }

    private static async Task<IResult> SignInAsync(HttpContext http, ConsoleSession session, ApiKeyVerifier verifier, IAntiforgery antiforgery, ILogger<ConsoleSession> logger)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return FormRefused(http, antiforgery);
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var token = form["key"].ToString().Trim();
        var caller = token.Length == 0 ? null : await verifier.VerifyAsync(token, http.RequestAborted);
        if (caller is null)
        {
            return SignInPage(http, antiforgery, "This key is unknown or has been revoked.", StatusCodes.Status401Unauthorized);
        }

        if (!ConsoleSession.MaySignIn(caller))
        {
            // The key id is not secret: it names the key in the administrator's key list.
            logger.LogWarning("Console sign-in refused for key {KeyId} with role {Role}", caller.KeyId, caller.Role);
            var reason = caller.Role switch
            {
                Roles.CollectionSystem => "This is a collection system's key. Collection systems (dialers, messaging platforms, case tools) use the API, "
                    + "not the console. Sign in with a compliance officer's, an auditor's or an administrator's key.",
                Roles.PlatformAdministrator => "The platform administrator's key belongs to no lender, and the console shows a lender's records. "
                    + "Sign in with a key of the lender.",
                _ => $"A key with role {caller.Role} cannot sign in to the console.",
            };
            return SignInPage(http, antiforgery, reason, StatusCodes.Status403Forbidden);
        }

        session.SignIn(http, token);
        logger.LogInformation("Console sign-in with key {KeyId} ({Role}) of lender {Lender}", caller.KeyId, caller.Role, caller.LenderId);
        return Results.Redirect("/reports");
    }

    private static Task<IResult> ExportEvidenceAsync(HttpContext http, IAntiforgery antiforgery) => WithCaller(http, async caller =>
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return FormRefused(http, antiforgery);
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        string account = form["account"].ToString().Trim(), complaint = form["complaint"].ToString().Trim();
        string from = form["from"].ToString().Trim(), to = form["to"].ToString().Trim();
        IResult Problem(string message, int status) => Page(http, caller, "Evidence pack", "/evidence",
            ConsoleViews.Evidence(AntiforgeryField(http, antiforgery), message, account, from, to, complaint), status);

        var request = new ExportEvidenceRequest { AccountId = account, ComplaintId = complaint };
        if (!TryDay(from, out var start) || !TryDay(to, out var end))
        {
            return Problem("Dates are days written as yyyy-mm-dd.", StatusCodes.Status400BadRequest);
        }

        request.PeriodStart = start is { } first ? Timestamp.FromDateTimeOffset(first) : null;
        request.PeriodEnd = end is { } last ? Timestamp.FromDateTimeOffset(last.AddDays(1)) : null;
        var writer = new ResponseChunks(http.Response);
        try
        {
            await InProcessCalls.CallAsync<AuditGrpcService>(http, caller, nameof(AuditGrpcService.ExportEvidence),
                (s, c) => s.ExportEvidence(request, writer, c));
        }
        catch (RpcException e) when (!writer.Started && e.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
        {
            return Problem(e.Status.Detail, e.StatusCode == StatusCode.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest);
        }

        return Results.Empty;
    });

    /// <summary>Runs a page for the signed-in caller; without a session, to the sign-in page. Refusals of the services become pages.</summary>
    private static async Task<IResult> WithCaller(HttpContext http, Func<Caller, Task<IResult>> page)
    {
        var caller = await http.RequestServices.GetRequiredService<ConsoleSession>().CurrentAsync(http);
        if (caller is null)
        {
            return Results.Redirect("/sign-in");
        }

        try
        {
            return await page(caller);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument or StatusCode.PermissionDenied
                                         or StatusCode.Unimplemented or StatusCode.FailedPrecondition)
        {
            var (status, title) = e.StatusCode switch
            {
                StatusCode.NotFound => (StatusCodes.Status404NotFound, "Not found"),
                StatusCode.InvalidArgument => (StatusCodes.Status400BadRequest, "Not understood"),
                StatusCode.PermissionDenied => (StatusCodes.Status403Forbidden, "Not allowed"),
                StatusCode.Unimplemented => (StatusCodes.Status501NotImplemented, "Not available"),
                _ => (StatusCodes.Status409Conflict, "Not possible now"),
            };
            return Page(http, caller, title, "", ConsoleViews.Notice(title, e.Status.Detail, "warn"), status);
        }
    }

    private static Task<GetReportResponse> GetReportAsync(HttpContext http, Caller caller, string id, ReportFormat format) =>
        InProcessCalls.CallAsync<ReportGrpcService, GetReportResponse>(http, caller, nameof(ReportGrpcService.GetReport),
            (s, c) => s.GetReport(new GetReportRequest { ReportId = id, Format = format }, c));

    private static IResult Page(HttpContext http, Caller caller, string title, string active, Html body, int status = StatusCodes.Status200OK) =>
        Results.Content(ConsoleViews.Page(title, caller, AntiforgeryField(http, http.RequestServices.GetRequiredService<IAntiforgery>()), active, body).Value,
            HtmlType, statusCode: status);

    private static IResult SignInPage(HttpContext http, IAntiforgery antiforgery, string? refusal, int status) =>
        Results.Content(ConsoleViews.Page("Sign in", null, Html.Empty, "", ConsoleViews.SignIn(AntiforgeryField(http, antiforgery), refusal)).Value,
            HtmlType, statusCode: status);

    private static IResult FormRefused(HttpContext http, IAntiforgery antiforgery) =>
        SignInPage(http, antiforgery, "The form had expired or did not come from this console. Please try again.", StatusCodes.Status400BadRequest);

    private static Html AntiforgeryField(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return Html.Of($"""<input type="hidden" name="{tokens.FormFieldName}" value="{tokens.RequestToken}">""");
    }

    private static IResult Asset(string name, string contentType)
    {
        using var stream = typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream($"Compliance.Server.WebConsole.{name}")
            ?? throw new InvalidOperationException($"The console asset {name} is not embedded.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Results.Bytes(copy.ToArray(), contentType);
    }

    /// <summary>Enum values by their short lower-case name in URLs ("monthly", "critical", "json"); anything else is the default.</summary>
    private static T Parse<T>(string? value, T fallback) where T : struct, System.Enum =>
        !string.IsNullOrEmpty(value) && System.Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed) && !value.Any(char.IsDigit)
            ? parsed
            : fallback;

    private static bool TryDay(string text, out DateTimeOffset? day)
    {
        day = null;
        if (text.Length == 0)
        {
            return true;
        }

        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return false;
        }

        day = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        return true;
    }

    private static string ContentTypeOr(string contentType, string fallback) => string.IsNullOrEmpty(contentType) ? fallback : contentType;

    private static string Extension(string contentType, string format) => contentType switch
    {
        _ when contentType.StartsWith("application/zip", StringComparison.OrdinalIgnoreCase) => "zip",
        _ when contentType.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) => "html",
        _ when contentType.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) => "csv",
        _ when contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) => "json",
        _ => format.ToLowerInvariant(),
    };

    /// <summary>Writes the evidence stream's chunks straight into the download.</summary>
    private sealed class ResponseChunks(HttpResponse response) : IServerStreamWriter<ExportEvidenceResponse>
    {
        public bool Started { get; private set; }

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(ExportEvidenceResponse message) => WriteAsync(message, response.HttpContext.RequestAborted);

        public async Task WriteAsync(ExportEvidenceResponse message, CancellationToken cancellationToken)
        {
            if (!Started)
            {
                Started = true;
                response.ContentType = "application/zip";
                var disposition = new ContentDispositionHeaderValue("attachment");
                disposition.SetHttpFileName(message.FileName.Length > 0 ? message.FileName : "evidence.zip");
                response.Headers.ContentDisposition = disposition.ToString();
            }

            await response.Body.WriteAsync(message.Chunk.Memory, cancellationToken);
        }
    }
}
