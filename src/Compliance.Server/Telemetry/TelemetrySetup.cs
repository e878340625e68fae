using Compliance.Server.WebConsole;
using Compliance.Storage;
using Microsoft.AspNetCore.Connections.Features;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Compliance.Server.Telemetry;

/// <summary>
/// OpenTelemetry for the service: its own meter and the ASP.NET Core and Kestrel meters, scraped by Prometheus at
/// /metrics on an HTTP/1.1 port (the console's, or <see cref="TelemetryOptions.MetricsUrl"/>); and, when an OTLP
/// collector is configured, the metrics plus traces of every gRPC call and store command sent to it.
/// </summary>
internal static class TelemetrySetup
{
    /// <summary>Marks the connections of a port that serves the scrape.</summary>
    public const string MetricsConnectionItem = "compliance.metrics";

    private const string MetricsEndpointName = "Metrics";

    /// <summary>The runtime's built-in meter (.NET 9 and later).</summary>
    public const string RuntimeMeterName = "System.Runtime";

    /// <summary>Marks the scrape endpoint.</summary>
    public sealed class MetricsMetadata
    {
        public static readonly MetricsMetadata Instance = new();
    }

    public static WebApplicationBuilder AddComplianceTelemetry(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        builder.Services.AddOptions<TelemetryOptions>().Bind(builder.Configuration.GetSection(TelemetryOptions.Section));
        builder.Services.AddSingleton<ComplianceMetrics>();

        var consoleOn = !string.IsNullOrWhiteSpace(builder.Configuration[$"{ConsoleOptions.Section}:Url"]);
        if (options.Prometheus && !consoleOn && !string.IsNullOrWhiteSpace(options.MetricsUrl))
        {
            ConsoleEndpoint.AddHttp1Endpoint(builder, MetricsEndpointName, options.MetricsUrl, MetricsConnectionItem);
        }

        var otlp = string.IsNullOrWhiteSpace(options.OtlpEndpoint) ? null : new Uri(options.OtlpEndpoint);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("compliance", serviceInstanceId: Environment.MachineName))
            .WithMetrics(metrics =>
            {
                // System.Runtime: the runtime's own meter (heap after the last collection by generation, GC pauses,
                // committed memory, thread pool), so that memory is told apart from the garbage the GC has yet to collect.
                metrics.AddMeter(ComplianceMetrics.MeterName, StoreTelemetry.MeterName, RuntimeMeterName).AddAspNetCoreInstrumentation();
                if (options.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (otlp is not null)
        {
            // Traces are collected only where they go somewhere: without a listener the store's spans cost nothing.
            telemetry.WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddSource(StoreTelemetry.SourceName))
                .UseOtlpExporter(string.Equals(options.OtlpProtocol, "http/protobuf", StringComparison.OrdinalIgnoreCase) ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc, otlp);
        }

        return builder;
    }

    /// <summary>Maps /metrics, answering only on a port marked for it.</summary>
    public static WebApplication MapComplianceTelemetry(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value.Prometheus)
        {
            return app;
        }

        app.Use(async (http, next) =>
        {
            if (http.GetEndpoint()?.Metadata.GetMetadata<MetricsMetadata>() is not null
                && http.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(MetricsConnectionItem) != true)
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(http);
        });
        app.MapPrometheusScrapingEndpoint().WithMetadata(MetricsMetadata.Instance);
        return app;
    }
}
