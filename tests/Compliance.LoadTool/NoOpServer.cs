using System.Net;
using Compliance.Api.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Compliance.LoadTool;

/// <summary>
/// The transport limit: Kestrel and gRPC on loopback, hosted in this process, with one service that answers at once.
/// No authentication, lookup, rules, scoring or storage. <see cref="IngestAsync"/> acknowledges every event as
/// ACCEPTED; <see cref="GateAsync"/> answers every Authorize with the same allowed decision.
/// </summary>
internal sealed class NoOpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private NoOpServer(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    public static Task<NoOpServer> IngestAsync(string contentRoot, CancellationToken ct) => StartAsync<AcceptEverything>(contentRoot, ct);

    public static Task<NoOpServer> GateAsync(string contentRoot, CancellationToken ct) => StartAsync<AllowEverything>(contentRoot, ct);

    private static async Task<NoOpServer> StartAsync<TService>(string contentRoot, CancellationToken ct)
        where TService : class
    {
        // A content root of its own, so the server's appsettings.json copied next to this tool is not read.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = contentRoot });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<TService>();
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new NoOpServer(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private sealed class AcceptEverything : EventIngestService.EventIngestServiceBase
    {
        public override async Task Stream(IAsyncStreamReader<StreamRequest> requestStream, IServerStreamWriter<StreamResponse> responseStream, ServerCallContext context)
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                var response = new StreamResponse();
                foreach (var e in request.Events)
                {
                    response.Acks.Add(new EventAck { EventId = e.EventId, Status = AckStatus.Accepted });
                }

                await responseStream.WriteAsync(response, context.CancellationToken);
            }
        }
    }

    private sealed class AllowEverything : ContactGateService.ContactGateServiceBase
    {
        public override Task<AuthorizeResponse> Authorize(AuthorizeRequest request, ServerCallContext context) =>
            Task.FromResult(new AuthorizeResponse
            {
                Decision = new Decision
                {
                    DecisionId = "dec_0192f3a5b6c77d8e9fa0b1c2d3e4f506",
                    Verdict = Verdict.Allow,
                    Contact = request.Contact,
                },
            });
    }
}
