using System.Net;
using System.Text.RegularExpressions;

namespace Compliance.Console.Tests;

/// <summary>A browser-like HTTP/1.1 client of the console: keeps cookies, does not follow redirects, reads the form token.</summary>
public sealed partial class ConsoleClient : IDisposable
{
    private readonly HttpClient _http;

    public ConsoleClient(Uri consoleUrl)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = consoleUrl };
    }

    public CookieContainer Cookies { get; }

    /// <summary>Every URL the client was sent to or saw in a page or a redirect, to check that no key ever travels in one.</summary>
    public List<string> UrlsSeen { get; } = [];

    public async Task<HttpResponseMessage> GetAsync(string path)
    {
        UrlsSeen.Add(path);
        var response = await _http.GetAsync(path, TestContext.Current.CancellationToken);
        await RememberUrlsAsync(response);
        return response;
    }

    public async Task<string> GetPageAsync(string path)
    {
        using var response = await GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Posts a form; with <paramref name="withToken"/> the form token of a freshly loaded <paramref name="formPage"/> goes along.</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string path, IDictionary<string, string> fields, bool withToken = true, string formPage = "/sign-in")
    {
        var values = new Dictionary<string, string>(fields);
        if (withToken)
        {
            using var page = await GetAsync(formPage);
            values["form_token"] = FormToken(await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        UrlsSeen.Add(path);
        var response = await _http.PostAsync(path, new FormUrlEncodedContent(values), TestContext.Current.CancellationToken);
        await RememberUrlsAsync(response);
        return response;
    }

    public Task<HttpResponseMessage> SignInAsync(string key, bool withToken = true) =>
        PostFormAsync("/sign-in", new Dictionary<string, string> { ["key"] = key }, withToken);

    public static string FormToken(string html) => FormTokenPattern().Match(html) is { Success: true } m
        ? WebUtility.HtmlDecode(m.Groups[1].Value)
        : throw new InvalidOperationException("The page has no form token.");

    public void Dispose() => _http.Dispose();

    private async Task RememberUrlsAsync(HttpResponseMessage response)
    {
        if (response.Headers.Location is { } location)
        {
            UrlsSeen.Add(location.ToString());
        }

        if (response.Content.Headers.ContentType?.MediaType == "text/html")
        {
            var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            UrlsSeen.AddRange(LinkPattern().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)));
        }
    }

    [GeneratedRegex("name=\"form_token\" value=\"([^\"]+)\"")]
    private static partial Regex FormTokenPattern();

    [GeneratedRegex("(?:href|src|action)=\"([^\"]*)\"")]
    private static partial Regex LinkPattern();
}
