namespace Compliance.Server.Telemetry;

/// <summary>The "Compliance:Telemetry" section: where metrics and traces go.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Compliance:Telemetry";

    /// <summary>
    /// An OTLP collector to send metrics and traces to (for example http://otel-collector:4317). Unset: no OTLP export
    /// (the standard OTEL_EXPORTER_OTLP_* variables are read as well once this is set).
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>"grpc" (default) or "http/protobuf", the OTLP protocol the collector speaks.</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>
    /// Serve Prometheus's scrape at /metrics (default: on). It answers on the console's HTTP/1.1 port when the console
    /// is on, else on <see cref="MetricsUrl"/> when that is set; never on the API's HTTP/2 ports.
    /// </summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>An HTTP/1.1 address only for /metrics (for example http://*:9464), for a server without the console.</summary>
    public string? MetricsUrl { get; set; }
}
