using Compliance.Server.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddComplianceOptions()
    .AddComplianceStore()
    .AddComplianceGate()
    .AddComplianceIngest()
    .AddComplianceAudit()
    .AddComplianceAuthentication()
    .AddComplianceGrpc();

var app = builder.Build();
app.MapComplianceServices();
return app.RunExplainingStartupErrors();

/// <summary>Entry point; public so integration tests can host it.</summary>
public partial class Program;
