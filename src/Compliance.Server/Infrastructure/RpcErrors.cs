using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Google.Rpc.Status;

namespace Compliance.Server.Infrastructure;

/// <summary>One bad field of a request: its path (e.g. "account.contact_points[0].value") and why.</summary>
internal readonly record struct FieldError(string Field, string Reason);

/// <summary>
/// Builds RpcExceptions that carry google.rpc error details, so clients can point at the bad field. Messages and
/// details are bounded (a status travels in HTTP/2 trailers, and a value echoed in full can outgrow what a client
/// accepts, leaving the call unanswered): at most <see cref="MaxViolations"/> field violations, each field and
/// reason cut to a few hundred characters, the message to <see cref="MaxMessage"/>.
/// </summary>
internal static class RpcErrors
{
    public const int MaxMessage = 1024;
    public const int MaxViolations = 20;
    private const int MaxField = 120;
    private const int MaxReason = 200;
    private const int MaxName = 128;

    public static RpcException InvalidArgument(IReadOnlyCollection<FieldError> errors)
    {
        var shown = errors.Take(MaxViolations).Select(e => new FieldError(Bound(e.Field, MaxField), Bound(e.Reason, MaxReason))).ToList();
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(shown.Select(e => new BadRequest.Types.FieldViolation { Field = e.Field, Description = e.Reason }));
        var message = string.Join("; ", shown.Select(e => $"{e.Field}: {e.Reason}"));
        if (errors.Count > shown.Count)
        {
            message += $"; and {errors.Count - shown.Count} more";
        }

        return new Status { Code = (int)Code.InvalidArgument, Message = Bound(message, MaxMessage), Details = { Any.Pack(badRequest) } }.ToRpcException();
    }

    public static RpcException InvalidArgument(string field, string reason) => InvalidArgument([new FieldError(field, reason)]);

    public static RpcException NotFound(string resourceType, string name) =>
        new Status
        {
            Code = (int)Code.NotFound,
            Message = $"{resourceType} '{Name(name)}' not found",
            Details = { Any.Pack(new ResourceInfo { ResourceType = resourceType, ResourceName = Name(name) }) },
        }.ToRpcException();

    public static RpcException AlreadyExists(string resourceType, string name) =>
        new Status
        {
            Code = (int)Code.AlreadyExists,
            Message = $"{resourceType} '{Name(name)}' already exists",
            Details = { Any.Pack(new ResourceInfo { ResourceType = resourceType, ResourceName = Name(name) }) },
        }.ToRpcException();

    public static RpcException PermissionDenied(string reason) =>
        new Status { Code = (int)Code.PermissionDenied, Message = Bound(reason, MaxMessage) }.ToRpcException();

    /// <summary>RESOURCE_EXHAUSTED: a request larger than a documented limit.</summary>
    public static RpcException ResourceExhausted(string field, string reason) =>
        new Status
        {
            Code = (int)Code.ResourceExhausted,
            Message = Bound($"{field}: {reason}", MaxMessage),
            Details = { Any.Pack(new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = Bound(field, MaxField), Description = Bound(reason, MaxReason) } } }) },
        }.ToRpcException();

    /// <summary>Throws INVALID_ARGUMENT listing every error, when there is any.</summary>
    public static void ThrowIfAny(this List<FieldError> errors)
    {
        if (errors.Count > 0)
        {
            throw InvalidArgument(errors);
        }
    }

    /// <summary>Text cut to a length, saying how long it was.</summary>
    public static string Bound(string text, int max) =>
        text.Length <= max ? text : $"{text[..(max - 40)]}... ({text.Length:N0} characters)";

    /// <summary>A resource name as echoed: ids are at most 128 characters, so anything longer is not one and is not repeated.</summary>
    private static string Name(string name) => name.Length <= MaxName ? name : $"({name.Length:N0} characters)";
}
