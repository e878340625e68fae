using System.Security.Claims;
using Compliance.Domain.Registry;
using Grpc.Core;

namespace Compliance.Server.Security;

/// <summary>Role names as they appear in a key's role claim; who may call what is <see cref="Permissions"/>.</summary>
internal static class Roles
{
    public const string CollectionSystem = nameof(Role.CollectionSystem);
    public const string ComplianceOfficer = nameof(Role.ComplianceOfficer);
    public const string Auditor = nameof(Role.Auditor);
    public const string Administrator = nameof(Role.Administrator);
    /// <summary>The operator of the service: creates lenders; sees no lender's records.</summary>
    public const string PlatformAdministrator = nameof(PlatformAdministrator);
}

/// <summary>Who is calling: the key and the lender every record access is scoped to.</summary>
internal sealed record Caller(string KeyId, string? LenderId, string Role)
{
    public const string LenderClaim = "compliance:lender";
    public const string KeyClaim = "compliance:key";

    public bool IsPlatformAdministrator => Role == Roles.PlatformAdministrator;

    /// <summary>The lender the call is scoped to; platform administrators have none and get PERMISSION_DENIED.</summary>
    public string Lender => LenderId ?? throw new RpcException(new Status(StatusCode.PermissionDenied, "This call needs a lender's API key; the platform administrator key has no lender."));

    public static Caller From(ClaimsPrincipal user) =>
        new(user.FindFirstValue(KeyClaim) ?? "", user.FindFirstValue(LenderClaim), user.FindFirstValue(ClaimTypes.Role) ?? "");
}

internal static class CallerExtensions
{
    public static Caller Caller(this ServerCallContext context) => Security.Caller.From(context.GetHttpContext().User);
}
