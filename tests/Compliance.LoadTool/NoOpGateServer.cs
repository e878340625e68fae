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
/// The unary transport limit: Kestrel and gRPC on loopback with a contact gate that answers every Authorize at once
/// with the same allowed decision. No authentication, lookup, rules or storage. Hosted in this process, as the
/// no-op ingest server is.
/// </summary>
internal sealed class NoOpGateServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private NoOpGateServer(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    public static async Task<NoOpGateServer> StartAsync(string contentRoot, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = contentRoot });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<AllowEverything>();
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new NoOpGateServer(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
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
