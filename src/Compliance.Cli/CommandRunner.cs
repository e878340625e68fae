using System.CommandLine;
using Google.Rpc;
using Grpc.Core;

namespace Compliance.Cli;

/// <summary>Runs a command's body with a connected <see cref="ClientContext"/> and turns failures into messages and exit codes.</summary>
internal static class CommandRunner
{
    public static Func<ParseResult, CancellationToken, Task<int>> Run(KeyRole defaultRole, Func<ParseResult, ClientContext, Task<int>> body) =>
        Run(_ => defaultRole, body);

    /// <summary>For commands whose natural key depends on their arguments (key create for another lender needs the platform key).</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, KeyRole> defaultRole, Func<ParseResult, ClientContext, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            ClientContext? context = null;
            try
            {
                context = ClientContext.Create(parse, defaultRole(parse), cancellationToken);
                return await body(parse, context);
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return ExitCodes.Rejected;
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                await Console.Error.WriteLineAsync("error: interrupted.");
                return ExitCodes.Failed;
            }
            catch (RpcException ex)
            {
                // Only the body calls the server, so the context exists by now.
                return Report(ex, context!);
            }
            finally
            {
                context?.Dispose();
            }
        };

    private static int Report(RpcException ex, ClientContext context)
    {
        var endpoint = context.Endpoint;
        var error = Console.Error;
        switch (ex.StatusCode)
        {
            case StatusCode.Unavailable:
                // The socket error ("Connection refused") says more than the channel's summary of it.
                var reason = ex.Status.DebugException?.GetBaseException().Message ?? ex.Status.Detail;
                error.WriteLine($"error: {ex.StatusCode}: cannot reach the compliance server at {endpoint} ({reason})");
                error.WriteLine("hint: start one with 'dotnet run --project src/Compliance.Server', or pass --endpoint (or set COMPLIANCE_ENDPOINT).");
                return ExitCodes.Failed;
            case StatusCode.DeadlineExceeded:
                error.WriteLine($"error: {ex.StatusCode}: the server at {endpoint} did not answer in time.");
                return ExitCodes.Failed;
            // The server's authorization layer answers 401/403 without a gRPC message; say what was sent instead.
            case StatusCode.Unauthenticated:
                error.WriteLine($"error: {ex.StatusCode}: the server did not accept {context.KeySource} (unknown or revoked).");
                error.WriteLine("hint: pass a valid key with --key or COMPLIANCE_API_KEY, or point --data-dir at the server's data directory.");
                return ExitCodes.Rejected;
            case StatusCode.PermissionDenied when ex.Status.Detail.StartsWith("Bad gRPC response", StringComparison.Ordinal):
                error.WriteLine($"error: {ex.StatusCode}: {context.KeySource} is not allowed to do this.");
                error.WriteLine($"hint: use a key with another role: --as <{Words.KeyRoles.List}>, or --key.");
                return ExitCodes.Rejected;
            case StatusCode.InvalidArgument:
                ReportInvalidArgument(ex);
                return ExitCodes.Rejected;
            case StatusCode.NotFound or StatusCode.AlreadyExists or StatusCode.PermissionDenied
                or StatusCode.FailedPrecondition or StatusCode.OutOfRange or StatusCode.Unimplemented:
                error.WriteLine($"error: {ex.StatusCode}: {ex.Status.Detail}");
                return ExitCodes.Rejected;
            default:
                error.WriteLine($"error: {ex.StatusCode}: {ex.Status.Detail}");
                return ExitCodes.Failed;
        }
    }

    private static void ReportInvalidArgument(RpcException ex)
    {
        var violations = ex.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations ?? [];
        // The server's message is the violations joined into one line; printing both would say everything twice.
        var joined = string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}"));
        var message = violations.Count > 0 && ex.Status.Detail == joined
            ? $"the request has {violations.Count} invalid field{(violations.Count == 1 ? "" : "s")}"
            : ex.Status.Detail;
        Console.Error.WriteLine($"error: {ex.StatusCode}: {message}");
        foreach (var violation in violations)
        {
            Console.Error.WriteLine($"  {violation.Field}: {violation.Description}");
        }
    }
}
