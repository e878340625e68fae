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
/// The transport limit: Kestrel and gRPC on loopback with an ingest service that does nothing but answer each
/// request at once with one ACCEPTED acknowledgement per event. No authentication, scoring or storage.
/// </summary>
internal sealed class NoOpIngestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private NoOpIngestServer(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    public static async Task<NoOpIngestServer> StartAsync(string contentRoot, CancellationToken ct)
    {
        // A content root of its own, so the server's appsettings.json copied next to this tool is not read.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = contentRoot });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<AcceptEverything>();
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new NoOpIngestServer(app, address);
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
}
