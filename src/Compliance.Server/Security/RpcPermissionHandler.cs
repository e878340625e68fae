using System.Security.Claims;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;

namespace Compliance.Server.Security;

/// <summary>The requirement every compliance RPC carries: the caller's role has a yes in the method's row of <see cref="Permissions"/>.</summary>
internal sealed class RpcPermissionRequirement : IAuthorizationRequirement
{
    public const string PolicyName = "rpc-permission";
}

/// <summary>Looks the called method up in <see cref="Permissions.Rpcs"/>; a method without a row is refused.</summary>
internal sealed class RpcPermissionHandler : AuthorizationHandler<RpcPermissionRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RpcPermissionRequirement requirement)
    {
        var endpoint = (context.Resource as HttpContext)?.GetEndpoint() ?? context.Resource as Endpoint;
        var method = endpoint?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName.TrimStart('/');
        if (method is not null && Permissions.MayCall(method, context.User.FindFirstValue(ClaimTypes.Role)))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
