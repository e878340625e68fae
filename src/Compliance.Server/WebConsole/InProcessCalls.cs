using System.Reflection;
using System.Security.Claims;
using Compliance.Server.Security;
using Grpc.Core;

namespace Compliance.Server.WebConsole;

/// <summary>
/// Calls the gRPC services' own methods in this process, as the signed-in key: the same validation, tenancy (the
/// services scope every read to the caller's lender) and role rules as a call over the network, with no data access
/// of the console's own.
/// </summary>
internal static class InProcessCalls
{
    public static async Task<TResponse> CallAsync<TService, TResponse>(
        HttpContext http, Caller caller, string method, Func<TService, ServerCallContext, Task<TResponse>> call)
        where TService : class
    {
        var (service, context) = Prepare<TService>(http, caller, method);
        return await call(service, context);
    }

    public static async Task CallAsync<TService>(HttpContext http, Caller caller, string method, Func<TService, ServerCallContext, Task> call)
        where TService : class
    {
        var (service, context) = Prepare<TService>(http, caller, method);
        await call(service, context);
    }

    private static (TService Service, ServerCallContext Context) Prepare<TService>(HttpContext http, Caller caller, string method)
        where TService : class
    {
        RequireRole(typeof(TService), method, caller.Role);
        var claims = new List<Claim> { new(Caller.KeyClaim, caller.KeyId), new(ClaimTypes.Role, caller.Role) };
        if (caller.LenderId is not null)
        {
            claims.Add(new Claim(Caller.LenderClaim, caller.LenderId));
        }

        // The services find their caller in the HttpContext's user, as the API key handler leaves it for network calls.
        var callHttp = new DefaultHttpContext
        {
            User = new ClaimsPrincipal(new ClaimsIdentity(claims, "ComplianceConsole")),
            RequestServices = http.RequestServices,
            RequestAborted = http.RequestAborted,
        };
        var service = ActivatorUtilities.GetServiceOrCreateInstance<TService>(http.RequestServices);
        return (service, new InProcessCallContext(callHttp, $"/{typeof(TService).Name}/{method}"));
    }

    /// <summary>The permission table's row for the method, as the authorization middleware applies it to the network call.</summary>
    private static void RequireRole(Type service, string method, string role)
    {
        // The generated base class is nested in the service's static class, which holds the service's descriptor.
        var descriptor = service.BaseType?.DeclaringType?.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
            as Google.Protobuf.Reflection.ServiceDescriptor
            ?? throw new InvalidOperationException($"{service.Name} is not a generated gRPC service.");
        if (!Permissions.MayCall($"{descriptor.FullName}/{method}", role))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"A key with role {role} may not call {method}."));
        }
    }

    /// <summary>A call context carrying the HttpContext where grpc-dotnet's GetHttpContext() looks for it.</summary>
    private sealed class InProcessCallContext(HttpContext http, string method) : ServerCallContext
    {
        private readonly Dictionary<object, object> _userState = new() { ["__HttpContext"] = http };

        protected override string MethodCore => method;

        protected override string HostCore => "console";

        protected override string PeerCore => "in-process";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => http.RequestAborted;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override IDictionary<object, object> UserStateCore => _userState;

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException("The console does not propagate calls.");

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
