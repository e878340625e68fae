using System.CommandLine;
using Grpc.Health.V1;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance health</c>: asks the standard gRPC health service whether the server is serving.</summary>
internal static class HealthCommand
{
    public static Command Create()
    {
        var command = new Command("health", "Check whether the server is up and its store is reachable. Exit code 0 only when SERVING; needs no key.");
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (_, ctx) =>
        {
            var response = await ctx.Health.CheckAsync(new HealthCheckRequest { Service = "" }, ctx.AnonymousCall);
            ctx.Output.Print(response, w => w.WriteLine($"{StatusName(response.Status)}  {ctx.Endpoint}"));
            return response.Status == HealthCheckResponse.Types.ServingStatus.Serving ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return command;
    }

    /// <summary>The protocol's own spelling (NOT_SERVING), which is what people search for.</summary>
    private static string StatusName(HealthCheckResponse.Types.ServingStatus status) =>
        HealthCheckResponse.Descriptor.FindFieldByNumber(HealthCheckResponse.StatusFieldNumber).EnumType.FindValueByNumber((int)status)?.Name
        ?? status.ToString();
}
