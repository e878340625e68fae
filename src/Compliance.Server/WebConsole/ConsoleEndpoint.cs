using Compliance.Server.Configuration;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;

namespace Compliance.Server.WebConsole;

/// <summary>
/// The console listens on a port of its own that speaks HTTP/1.1, for browsers (they speak HTTP/2 only over TLS),
/// while the API's ports stay HTTP/2. Pages answer only on that port, and only pages answer there.
/// </summary>
internal static class ConsoleEndpoint
{
    private const string EndpointName = "Console";
    private const string ConnectionItem = "compliance.console";

    /// <summary>Marks the endpoints that are console pages.</summary>
    public sealed class PageMetadata
    {
        public static readonly PageMetadata Instance = new();
    }

    public static WebApplicationBuilder AddComplianceConsole(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ConsoleOptions>().Bind(builder.Configuration.GetSection(ConsoleOptions.Section));
        var url = builder.Configuration[$"{ConsoleOptions.Section}:Url"];
        if (string.IsNullOrWhiteSpace(url))
        {
            return builder;
        }

        // Sessions and form tokens must survive a restart: the keys live in the data directory unless a shared folder is named.
        var keys = builder.Configuration[$"{ConsoleOptions.Section}:KeysDirectory"] is { Length: > 0 } shared
            ? shared
            : Path.Combine(builder.Configuration[$"{ComplianceOptions.Section}:DataDirectory"] is { Length: > 0 } data ? data : ComplianceOptions.DefaultDataDirectory(), "console-keys");
        builder.Services.AddDataProtection()
            .SetApplicationName("compliance-console")
            .PersistKeysToFileSystem(new DirectoryInfo(keys));
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "compliance_console_form";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.FormFieldName = "form_token";
            // The pages set their own framing policy (Content-Security-Policy frame-ancestors).
            o.SuppressXFrameOptionsHeader = true;
        });
        builder.Services.AddSingleton<ConsoleSession>();

        AddHttp1Endpoint(builder, EndpointName, url, ConnectionItem, Telemetry.TelemetrySetup.MetricsConnectionItem);
        return builder;
    }

    /// <summary>Maps the pages, and keeps them and the API apart by the port a request came in on.</summary>
    public static WebApplication MapComplianceConsole(this WebApplication app)
    {
        if (app.Services.GetService<ConsoleSession>() is null)
        {
            return app;
        }

        app.Use(async (http, next) =>
        {
            var onConsolePort = http.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ConnectionItem) == true;
            var endpoint = http.GetEndpoint();
            var isPage = endpoint?.Metadata.GetMetadata<PageMetadata>() is not null;
            // The scrape answers on this port too (see TelemetrySetup), without the pages' headers.
            if (endpoint?.Metadata.GetMetadata<Telemetry.TelemetrySetup.MetricsMetadata>() is not null)
            {
                await next(http);
                return;
            }

            if (onConsolePort != isPage)
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            if (onConsolePort)
            {
                var headers = http.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-src 'self'; "
                    + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
                headers.XFrameOptions = "DENY";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.CacheControl = "no-store";
            }

            await next(http);
        });
        ConsoleEndpoints.Map(app);
        return app;
    }

    /// <summary>
    /// Adds a named Kestrel endpoint that speaks HTTP/1.1 and marks its connections with <paramref name="items"/>.
    /// An endpoint in configuration replaces the --urls addresses, so the API's addresses become named endpoints too
    /// (HTTP/2 by Kestrel:EndpointDefaults), unless Kestrel:Endpoints names them already. Kestrel still warns at start
    /// that it overrides the addresses: it binds the same ones.
    /// </summary>
    internal static void AddHttp1Endpoint(WebApplicationBuilder builder, string name, string url, params string[] items)
    {
        var settings = new Dictionary<string, string?>();
        if (!builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            var index = 0;
            foreach (var apiUrl in ApiUrls(builder.Configuration))
            {
                settings[$"Kestrel:Endpoints:Api{index++}:Url"] = apiUrl;
            }
        }

        settings[$"Kestrel:Endpoints:{name}:Url"] = url;
        settings[$"Kestrel:Endpoints:{name}:Protocols"] = "Http1";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
            (kestrel.ConfigurationLoader ?? kestrel.Configure(context.Configuration.GetSection("Kestrel")))
                .Endpoint(name, endpoint => endpoint.ListenOptions.Use(next => connection =>
                {
                    foreach (var item in items)
                    {
                        connection.Items[item] = true;
                    }

                    return next(connection);
                })));
    }

    private static IEnumerable<string> ApiUrls(IConfiguration configuration)
    {
        if (configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls)
        {
            return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        var ports = (configuration[WebHostDefaults.HttpPortsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => $"http://*:{p}")
            .ToList();
        return ports.Count > 0 ? ports : ["http://localhost:5000"];
    }
}
