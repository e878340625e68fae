using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Frozen;
using System.IO.Pipelines;
using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Compliance.Server.Infrastructure;

/// <summary>
/// The last line of bounded answers: a status whose message or trailers outgrew their bounds is cut (a value echoed
/// in full into HTTP/2 trailers can exceed what a client accepts, so the call is never answered), and a request
/// stream message that is not valid protobuf answers INVALID_ARGUMENT instead of UNKNOWN.
/// </summary>
internal sealed class BoundedErrorsInterceptor : Interceptor
{
    private const int MaxTrailerBytes = 8 * 1024;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (Replacement(e) is { } replacement)
        {
            throw replacement;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception e) when (Replacement(e) is { } replacement)
        {
            throw replacement;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (Replacement(e) is { } replacement)
        {
            throw replacement;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception e) when (Replacement(e) is { } replacement)
        {
            throw replacement;
        }
    }

    /// <summary>What to throw instead, or null to let the exception pass as it is.</summary>
    private static RpcException? Replacement(Exception e) => e switch
    {
        InvalidProtocolBufferException => MalformedRequest.Error,
        RpcException r when r.Status.Detail.Length > RpcErrors.MaxMessage || TrailerBytes(r.Trailers) > MaxTrailerBytes =>
            new RpcException(new Status(r.StatusCode, RpcErrors.Bound(r.Status.Detail, RpcErrors.MaxMessage)),
                TrailerBytes(r.Trailers) > MaxTrailerBytes ? [] : r.Trailers),
        _ => null,
    };

    private static int TrailerBytes(Metadata trailers) => trailers.Sum(t => t.Key.Length + (t.IsBinary ? t.ValueBytes.Length : t.Value.Length));
}

/// <summary>
/// Refuses a unary (or server-streaming) request whose message is not valid protobuf with INVALID_ARGUMENT, before
/// the gRPC handler reads it (which would answer UNKNOWN). It looks at the request body without consuming it, so the
/// handler reads the same bytes; streamed requests are checked by <see cref="BoundedErrorsInterceptor"/>.
/// </summary>
internal sealed class MalformedRequest(RequestDelegate next)
{
    public static RpcException Error => RpcErrors.InvalidArgument("request", "is not a valid protobuf message of the method's request type");

    /// <summary>Request parsers by gRPC method path ("/compliance.v1.RegistryService/GetAccount"), from the contract's descriptors.</summary>
    private static readonly FrozenDictionary<string, MessageParser> Parsers = typeof(Api.V1.RegistryService).Assembly.GetTypes()
        .Where(t => t.Namespace == "Compliance.Api.V1")
        .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
        .OfType<FileDescriptor>()
        .SelectMany(f => f.Services)
        .SelectMany(s => s.Methods)
        .Where(m => !m.IsClientStreaming)
        .DistinctBy(m => m.FullName)
        .ToFrozenDictionary(m => $"/{m.Service.FullName}/{m.Name}", m => m.InputType.Parser);

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method;
        if (method is null || !Parsers.TryGetValue(method.FullName, out var parser))
        {
            await next(context);
            return;
        }

        var reader = context.Request.BodyReader;
        ReadResult read;
        while (true)
        {
            read = await reader.ReadAsync(context.RequestAborted);
            if (read.IsCompleted || read.IsCanceled || read.Buffer.Length > Mapping.Limits.MaxRequestBytes + 5)
            {
                break;
            }

            // Looked at, nothing taken: wait for more of the body.
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }

        var malformed = read.IsCompleted && IsMalformed(read.Buffer, parser);
        reader.AdvanceTo(read.Buffer.Start);
        if (!malformed)
        {
            await next(context);
            return;
        }

        var status = Error.Status;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)status.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = Uri.EscapeDataString(status.Detail);
    }

    /// <summary>Whether the body is not exactly one uncompressed, parseable gRPC message (compressed ones are left to the handler).</summary>
    private static bool IsMalformed(ReadOnlySequence<byte> body, MessageParser parser)
    {
        if (body.Length < 5)
        {
            return true;
        }

        Span<byte> header = stackalloc byte[5];
        body.Slice(0, 5).CopyTo(header);
        if (header[0] != 0)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (body.Length != 5L + length)
        {
            return true;
        }

        try
        {
            parser.ParseFrom(body.Slice(5));
            return false;
        }
        catch (InvalidProtocolBufferException)
        {
            return true;
        }
    }
}
