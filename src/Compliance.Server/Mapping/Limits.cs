namespace Compliance.Server.Mapping;

/// <summary>
/// Bounds on what one request may carry, checked before anything is used; each is named in the error and documented
/// in the proto comments. These are input bounds, not conduct limits (those are policy data).
/// </summary>
internal static class Limits
{
    /// <summary>Contact points of an account, and of each party.</summary>
    public const int ContactPoints = 100;
    public const int Parties = 100;
    public const int Profiles = 32;
    public const int InconvenientTimes = 50;
    public const int TimeZoneLength = 64;
    /// <summary>A lender's policy document (YAML).</summary>
    public const int PolicyDocumentLength = 256 * 1024;
    /// <summary>Largest message a client may send (gRPC's own default, stated).</summary>
    public const int MaxRequestBytes = 4 * 1024 * 1024;
}
