using System.Security.Cryptography;
using Compliance.Server.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Compliance.Server.WebConsole;

/// <summary>
/// The signed-in key, kept only in the browser: an HttpOnly, SameSite=Strict cookie holding the key encrypted and
/// time-limited by Data Protection. Every request verifies the key again, so a revoked key stops working (within the
/// key cache's time) without the console keeping sessions of its own.
/// </summary>
internal sealed class ConsoleSession(IDataProtectionProvider protection, ApiKeyVerifier verifier, IOptions<ConsoleOptions> options)
{
    public const string CookieName = "compliance_console";

    private readonly ITimeLimitedDataProtector _protector = protection.CreateProtector("Compliance.Console.Session.v1").ToTimeLimitedDataProtector();

    /// <summary>Roles that may read the console. Collection systems are machines with write access: they use the API.</summary>
    public static bool MaySignIn(Caller caller) =>
        caller.LenderId is not null && caller.Role is Roles.ComplianceOfficer or Roles.Auditor or Roles.Administrator;

    public void SignIn(HttpContext http, string token) =>
        http.Response.Cookies.Append(CookieName, _protector.Protect(token, options.Value.SessionLifetime), CookieOptions(http));

    public void SignOut(HttpContext http) => http.Response.Cookies.Delete(CookieName, CookieOptions(http));

    /// <summary>The signed-in caller, or null when there is no valid session (none, expired, tampered, revoked key).</summary>
    public async Task<Caller?> CurrentAsync(HttpContext http)
    {
        if (!http.Request.Cookies.TryGetValue(CookieName, out var value) || string.IsNullOrEmpty(value))
        {
            return null;
        }

        string token;
        try
        {
            token = _protector.Unprotect(value);
        }
        catch (CryptographicException)
        {
            return null;
        }

        var caller = await verifier.VerifyAsync(token, http.RequestAborted);
        return caller is not null && MaySignIn(caller) ? caller : null;
    }

    private static CookieOptions CookieOptions(HttpContext http) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/",
        IsEssential = true,
    };
}
