using System.Security.Claims;
using System.Text.Encodings.Web;
using Compliance.Server.Configuration;
using Compliance.Server.Infrastructure;
using Compliance.Storage;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Security;

/// <summary>Authenticates "authorization: Bearer cmp_..." against the stored, hashed API keys.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyVerifier verifier)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The authorization header must be 'Bearer <api key>'.");
        }

        var caller = await verifier.VerifyAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        if (caller is null)
        {
            return AuthenticateResult.Fail("Unknown or revoked API key.");
        }

        var claims = new List<Claim> { new(Caller.KeyClaim, caller.KeyId), new(ClaimTypes.Role, caller.Role) };
        if (caller.LenderId is not null)
        {
            claims.Add(new Claim(Caller.LenderClaim, caller.LenderId));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    // gRPC clients read grpc-status, not the HTTP status: answer with a trailers-only gRPC response that says why.
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        string? header = Request.Headers.Authorization;
        return GrpcRefusal(StatusCode.Unauthenticated, string.IsNullOrEmpty(header)
            ? "This call needs an API key: send the header 'authorization: Bearer <api key>'."
            : !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                ? "The authorization header must be 'Bearer <api key>': the word Bearer and a space are missing before the key."
                : "The API key is unknown or revoked.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        GrpcRefusal(StatusCode.PermissionDenied, $"A key with role {Context.User.FindFirstValue(ClaimTypes.Role)} may not call {Request.Path}.");

    private Task GrpcRefusal(StatusCode code, string message)
    {
        Response.StatusCode = StatusCodes.Status200OK;
        Response.ContentType = "application/grpc";
        Response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }
}

/// <summary>Checks tokens, caching verified keys briefly so the gate's hot path does not query for every call.</summary>
internal sealed class ApiKeyVerifier(ITenantStore store, IOptions<ComplianceOptions> options, TimeProvider clock)
{
    private const int MaxCached = 100_000;
    private readonly ExpiringMap<string, Caller?> _cache = new(MaxCached);
    private readonly ExpiringMap<string, Caller?> _unknown = new(MaxCached);
    private readonly string? _platformHash = options.Value.Auth.PlatformAdminKey is { Length: > 0 } k ? ApiKeyTokens.HashSecret(k) : null;
    private readonly TimeSpan _ttl = options.Value.Auth.KeyCacheTtl;

    public async Task<Caller?> VerifyAsync(string token, CancellationToken ct)
    {
        var tokenHash = ApiKeyTokens.HashSecret(token);
        if (_platformHash is not null && ApiKeyTokens.HashesEqual(tokenHash, _platformHash))
        {
            return new Caller("platform", null, Roles.PlatformAdministrator);
        }

        var now = clock.GetUtcNow();
        if (_cache.TryGet(tokenHash, now, out var cached) || _unknown.TryGet(tokenHash, now, out cached))
        {
            return cached;
        }

        // Taken before the read: a verification that overlapped a revocation is not kept (see Forget).
        var generation = _cache.Generation;
        Caller? caller = null;
        if (ApiKeyTokens.TryParse(token, out var keyId, out var secret))
        {
            var key = await store.GetApiKeyAsync(keyId, ct);
            if (key is { RevokedAt: null } && ApiKeyTokens.HashesEqual(key.SecretHash, ApiKeyTokens.HashSecret(secret)))
            {
                caller = new Caller(key.KeyId, key.LenderId, key.Role.ToString());
            }
        }

        // Unknown tokens are remembered apart from valid ones, so a caller spraying made-up tokens can only flush
        // its own garbage, never the cache of the keys in use.
        if (caller is null)
        {
            _unknown.Put(tokenHash, caller, now + _ttl);
        }
        else
        {
            _cache.PutIfCurrent(tokenHash, caller, now + _ttl, generation);
        }

        return caller;
    }

    /// <summary>Forgets every cached verification (after a revocation on this replica).</summary>
    public void Forget() => _cache.Clear();
}
