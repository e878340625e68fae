using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Google.Rpc.Status;

namespace Compliance.Server.Infrastructure;

/// <summary>One bad field of a request: its path (e.g. "account.contact_points[0].value") and why.</summary>
internal readonly record struct FieldError(string Field, string Reason);

/// <summary>Builds RpcExceptions that carry google.rpc error details, so clients can point at the bad field.</summary>
internal static class RpcErrors
{
    public static RpcException InvalidArgument(IReadOnlyCollection<FieldError> errors)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(errors.Select(e => new BadRequest.Types.FieldViolation { Field = e.Field, Description = e.Reason }));
        var message = string.Join("; ", errors.Select(e => $"{e.Field}: {e.Reason}"));
        return new Status { Code = (int)Code.InvalidArgument, Message = message, Details = { Any.Pack(badRequest) } }.ToRpcException();
    }

    public static RpcException InvalidArgument(string field, string reason) => InvalidArgument([new FieldError(field, reason)]);

    public static RpcException NotFound(string resourceType, string name) =>
        new Status
        {
            Code = (int)Code.NotFound,
            Message = $"{resourceType} '{name}' not found",
            Details = { Any.Pack(new ResourceInfo { ResourceType = resourceType, ResourceName = name }) },
        }.ToRpcException();

    public static RpcException AlreadyExists(string resourceType, string name) =>
        new Status
        {
            Code = (int)Code.AlreadyExists,
            Message = $"{resourceType} '{name}' already exists",
            Details = { Any.Pack(new ResourceInfo { ResourceType = resourceType, ResourceName = name }) },
        }.ToRpcException();

    public static RpcException PermissionDenied(string reason) =>
        new Status { Code = (int)Code.PermissionDenied, Message = reason }.ToRpcException();

    /// <summary>Throws INVALID_ARGUMENT listing every error, when there is any.</summary>
    public static void ThrowIfAny(this List<FieldError> errors)
    {
        if (errors.Count > 0)
        {
            throw InvalidArgument(errors);
        }
    }
}
