using Compliance.Domain.Contacts;
using Compliance.Server.Audit;
using Compliance.Server.Configuration;
using Compliance.Domain.Content;
using Compliance.Server.Gate;
using Compliance.Server.Ingest;
using Compliance.Server.Security;
using Compliance.Server.Services;
using Compliance.Storage;
using Grpc.AspNetCore.HealthChecks;
using Microsoft.Extensions.Options;
using Quartz;

namespace Compliance.Server.Infrastructure;

/// <summary>The pieces Program.cs puts together, one extension per concern.</summary>
internal static class ServiceRegistration
{
    public static WebApplicationBuilder AddComplianceOptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ComplianceOptions>().Bind(builder.Configuration.GetSection(ComplianceOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ComplianceOptions>, ComplianceOptionsValidator>();
        builder.Services.AddSingleton<IPostConfigureOptions<ComplianceOptions>, DevelopmentSecrets>();
        builder.Services.AddSingleton<TimeProvider, MillisecondClock>();
        builder.Services.AddSingleton<WriteHealth>();
        // Streams end as soon as the host stops (see AlertGrpcService, EventIngestGrpcService), so a stop needs seconds.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        StartupErrors.QuietWhileStarting(builder.Logging);
        return builder;
    }

    public static WebApplicationBuilder AddComplianceStore(this WebApplicationBuilder builder)
    {
        // The embedded store's file is held by one process (SqliteFileLock), taken before the store is made and let go
        // when the host disposes it at shutdown.
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ComplianceOptions>>().Value;
            return SqliteFileLock.Acquire(SqlitePath(options));
        });
        builder.Services.AddSingleton<IComplianceStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ComplianceOptions>>().Value;
            if (string.Equals(options.Store.Provider, "SqlServer", StringComparison.OrdinalIgnoreCase))
            {
                return new SqlServerStore(options.Store.ConnectionString!);
            }

            sp.GetRequiredService<SqliteFileLock>();
            return new SqliteStore(SqlitePath(options), options.Store.SqliteSyncEveryCommit, logger: sp.GetRequiredService<ILogger<SqliteStore>>(),
                gateHistoryBorrowers: options.Gate.HistoryCacheBorrowers);
        });
        builder.Services.AddSingleton<ITenantStore>(sp => sp.GetRequiredService<IComplianceStore>());
        builder.Services.AddSingleton<IRegistryStore>(sp => sp.GetRequiredService<IComplianceStore>());
        builder.Services.AddSingleton(sp => new ContactHasher(Convert.FromBase64String(sp.GetRequiredService<IOptions<ComplianceOptions>>().Value.Privacy.ContactHashKey!)));
        builder.Services.AddHostedService<Startup>();
        builder.Services.AddSingleton<LiveCalls>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LiveCalls>());
        return builder;
    }

    private static string SqlitePath(ComplianceOptions options) => options.Store.SqlitePath ?? Path.Combine(options.DataDirectory, "compliance.db");

    public static WebApplicationBuilder AddComplianceGate(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IGateStore>(sp => sp.GetRequiredService<IComplianceStore>());
        builder.Services.AddSingleton<IPolicyStore>(sp => sp.GetRequiredService<IComplianceStore>());
        builder.Services.AddSingleton<PolicyRegistry>();
        builder.Services.AddSingleton<HistoryCache>();
        builder.Services.AddSingleton<AccountCache>();
        builder.Services.AddSingleton<Registry.AccountWriter>();
        builder.Services.AddSingleton<DestinationResolver>();
        builder.Services.AddSingleton<ContactGate>();
        builder.Services.AddSingleton<PolicyPreview>();
        builder.Services.AddSingleton<ReservationReleaser>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReservationReleaser>());
        builder.Services.AddHostedService<PolicyRefresher>();
        return builder;
    }

    public static WebApplicationBuilder AddComplianceAudit(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ILedgerStore>(sp => sp.GetRequiredService<IComplianceStore>());
        builder.Services.AddSingleton<LedgerKeys>();
        builder.Services.AddSingleton<CheckpointWitness>();
        builder.Services.AddSingleton<LedgerIntegrity>();
        builder.Services.AddSingleton<LedgerAuditor>();
        builder.Services.AddSingleton<EvidencePack>();
        builder.Services.AddHostedService<CheckpointService>();
        builder.Services.AddTransient<RetentionPurgeJob>();
        var schedule = builder.Configuration[$"{ComplianceOptions.Section}:Audit:PurgeSchedule"] ?? new AuditOptions().PurgeSchedule;
        builder.Services.AddQuartz(q => q.ScheduleJob<RetentionPurgeJob>(t => t.WithIdentity("retention-purge").WithCronSchedule(schedule)));
        builder.Services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return builder;
    }

    public static WebApplicationBuilder AddComplianceReports(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IReportStore>(sp => sp.GetRequiredService<IComplianceStore>());
        builder.Services.AddSingleton<Reports.ReportBuilder>();
        builder.Services.AddSingleton<Reports.ReportIssuer>();
        builder.Services.AddSingleton<Reports.ReportVerifier>();
        builder.Services.AddSingleton<Reports.ReportScheduler>();
        builder.Services.AddTransient<Reports.ReportScheduleJob>();
        var section = builder.Configuration.GetSection($"{ComplianceOptions.Section}:Reports");
        var defaults = new ReportOptions();
        if (section.GetValue("Schedule", defaults.Schedule))
        {
            // In-memory Quartz on every replica: the first look at start catches up what was missed, then one every interval.
            var interval = section.GetValue("CheckInterval", defaults.CheckInterval);
            builder.Services.AddQuartz(q => q.ScheduleJob<Reports.ReportScheduleJob>(t => t.WithIdentity("report-schedule")
                .StartNow().WithSimpleSchedule(s => s.WithInterval(interval).RepeatForever())));
        }

        return builder;
    }

    public static WebApplicationBuilder AddComplianceIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<IComplianceStore>());
        builder.Services.AddSingleton(new ContentAnalyzer(Lexicon.BuiltIn));
        builder.Services.AddSingleton<EventProcessor>();
        builder.Services.AddSingleton<IncidentHub>();
        builder.Services.AddSingleton<IngestPipeline>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IngestPipeline>());
        return builder;
    }

    public static WebApplicationBuilder AddComplianceAuthentication(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiKeyVerifier>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, RpcPermissionHandler>();
        builder.Services.AddAuthorizationBuilder().AddPolicy(RpcPermissionRequirement.PolicyName, p => p
            .RequireAuthenticatedUser()
            .AddRequirements(new RpcPermissionRequirement()));
        return builder;
    }

    public static WebApplicationBuilder AddComplianceGrpc(this WebApplicationBuilder builder)
    {
        builder.Services.AddGrpc(o =>
        {
            o.EnableDetailedErrors = builder.Environment.IsDevelopment();
            o.MaxReceiveMessageSize = Mapping.Limits.MaxRequestBytes;
            o.Interceptors.Add<BoundedErrorsInterceptor>();
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks(o => o.Services.Map("", _ => true)).AddCheck<StoreHealthCheck>("store");
        builder.Services.Configure<GrpcHealthChecksOptions>(o => o.UseHealthChecksCache = false);
        return builder;
    }

    public static WebApplication MapComplianceServices(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<MalformedRequest>();
        // Who may call what is one table (Security/Permissions.cs), applied to every compliance service alike.
        app.MapGrpcService<RegistryGrpcService>().RequireAuthorization(RpcPermissionRequirement.PolicyName);
        app.MapGrpcService<ContactGateGrpcService>().RequireAuthorization(RpcPermissionRequirement.PolicyName);
        app.MapGrpcService<EventIngestGrpcService>().RequireAuthorization(RpcPermissionRequirement.PolicyName);
        app.MapGrpcService<PolicyGrpcService>().RequireAuthorization(RpcPermissionRequirement.PolicyName);
        app.MapGrpcService<ReportGrpcService>().RequireAuthorization(RpcPermissionRequirement.PolicyName);
        app.MapGrpcService<AuditGrpcService>().RequireAuthorization(RpcPermissionRequirement.PolicyName);
        app.MapGrpcService<AlertGrpcService>().RequireAuthorization(RpcPermissionRequirement.PolicyName);
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService().AllowAnonymous();
        return app;
    }
}
