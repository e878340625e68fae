using Compliance.Server.Infrastructure;
using Compliance.Server.Telemetry;
using Compliance.Server.WebConsole;

// Settings ship next to the binary, so the service reads them wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddComplianceOptions()
    .AddComplianceStore()
    .AddComplianceGate()
    .AddComplianceIngest()
    .AddComplianceAudit()
    .AddComplianceReports()
    .AddComplianceAuthentication()
    .AddComplianceGrpc()
    .AddComplianceConsole()
    .AddComplianceTelemetry();

var app = builder.Build();
app.MapComplianceTelemetry();
app.MapComplianceConsole();
app.MapComplianceServices();
return app.RunExplainingStartupErrors();

/// <summary>Entry point; public so integration tests can host it.</summary>
public partial class Program;
