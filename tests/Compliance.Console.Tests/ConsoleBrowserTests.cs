using System.Text.Json;

namespace Compliance.Console.Tests;

/// <summary>The console in a real headless Chromium: sign-in refused and accepted, a monthly report with its charts and tables.</summary>
public sealed class ConsoleBrowserTests(ConsoleServer server, ITestOutputHelper output)
{
    /// <summary>Where the screenshots are kept, beside the other test results.</summary>
    private static readonly string Screenshots = Path.Combine(AppContext.BaseDirectory, "TestResults", "console-screenshots");

    [Fact]
    public async Task AnOfficer_SignsIn_AndReadsAMonthlyReport_WithChartsAndTables_WhileACollectionSystemKeyIsRefused()
    {
        var chromium = HeadlessChromium.Find();
        if (chromium is null)
        {
            Assert.Skip("No Chromium on this machine (looked for COMPLIANCE_CHROMIUM, then chromium, chromium-headless-shell, chromium-browser, google-chrome on PATH). "
                + "Install Debian's chromium package, as .ci/run does.");
        }

        Directory.CreateDirectory(Screenshots);
        await using var browser = await HeadlessChromium.LaunchAsync(chromium, TestContext.Current.CancellationToken);
        var console = server.ConsoleUrl.ToString().TrimEnd('/');

        await browser.NavigateAsync($"{console}/sign-in");
        await browser.TypeAsync("#key", server.A.CollectionSystem);
        await browser.ClickAndWaitAsync("form[action='/sign-in'] button[type=submit]");
        var refusal = (await browser.EvaluateAsync("document.querySelector('.refusal')?.textContent ?? ''")).GetString();
        var refusedAt = (await browser.EvaluateAsync("location.pathname")).GetString();
        await SaveAsync(browser, "1-collection-system-key-refused.png");

        await browser.TypeAsync("#key", server.A.ComplianceOfficer);
        await browser.ClickAndWaitAsync("form[action='/sign-in'] button[type=submit]");
        var signedInAt = (await browser.EvaluateAsync("location.pathname")).GetString();
        var cookiesVisibleToScripts = (await browser.EvaluateAsync("document.cookie")).GetString();
        await SaveAsync(browser, "2-reports.png");

        await browser.ClickAndWaitAsync($"a[href='/reports/{Uri.EscapeDataString(server.MonthlyReportIdA)}']");
        const string Frame = "document.querySelector('iframe.report')";
        await browser.WaitUntilAsync($"{Frame}?.contentDocument?.readyState === 'complete' && {Frame}.contentDocument.querySelector('svg') !== null", TimeSpan.FromSeconds(30));
        // Let the page fit the frame to the report before the picture is taken.
        await browser.WaitUntilAsync($"{Frame}.getBoundingClientRect().height >= {Frame}.contentDocument.documentElement.scrollHeight", TimeSpan.FromSeconds(10));
        var report = await browser.EvaluateAsync($$"""
            (() => { const d = {{Frame}}.contentDocument;
              return { charts: d.querySelectorAll('svg').length, chartBars: d.querySelectorAll('svg rect').length, tables: d.querySelectorAll('table').length,
                       tableRows: d.querySelectorAll('table tbody tr').length, heading: document.querySelector('h1').textContent, title: d.title,
                       dayLabels: [...d.querySelector('svg').querySelectorAll('text[text-anchor=middle]')].map(t => t.getBoundingClientRect())
                         .map((r, i, all) => ({ left: r.left, right: r.right, overlapsNext: i + 1 < all.length && r.right > all[i + 1].left }))
                         .reduce((a, r) => ({ count: a.count + 1, overlapping: a.overlapping + (r.overlapsNext ? 1 : 0) }), { count: 0, overlapping: 0 }) }; })()
            """);
        await SaveAsync(browser, "3-monthly-report.png");
        await browser.NavigateAsync($"{console}/complaints");
        await SaveAsync(browser, "4-complaints.png");
        await browser.NavigateAsync($"{console}/incidents");
        await SaveAsync(browser, "5-incidents.png");
        await browser.NavigateAsync($"{console}/evidence?account={ConsoleServer.AccountA}");
        await SaveAsync(browser, "6-evidence.png");

        Assert.Contains("collection system", refusal, StringComparison.Ordinal);
        Assert.Equal("/sign-in", refusedAt);
        Assert.Equal("/reports", signedInAt);
        Assert.DoesNotContain("compliance_console=", cookiesVisibleToScripts, StringComparison.Ordinal);
        output.WriteLine($"Monthly report as the browser shows it: {report}");
        Assert.StartsWith("Monthly audit report", report.GetProperty("heading").GetString(), StringComparison.Ordinal);
        Assert.True(report.GetProperty("charts").GetInt32() >= 2, "expected the series chart and the rules chart");
        Assert.True(report.GetProperty("chartBars").GetInt32() > 0, "the charts have no bars");
        Assert.True(report.GetProperty("tables").GetInt32() >= 1, "expected tables");
        Assert.True(report.GetProperty("tableRows").GetInt32() > 0, "the tables are empty");
        // The by-day chart names its days as the browser draws them: enough of them to read the month by, none over the next.
        Assert.InRange(report.GetProperty("dayLabels").GetProperty("count").GetInt32(), 7, 30);
        Assert.Equal(0, report.GetProperty("dayLabels").GetProperty("overlapping").GetInt32());
    }

    private async Task SaveAsync(HeadlessChromium browser, string name)
    {
        var file = Path.Combine(Screenshots, name);
        await File.WriteAllBytesAsync(file, await browser.ScreenshotAsync(), TestContext.Current.CancellationToken);
        output.WriteLine($"Screenshot: {file}");
    }
}
