namespace Compliance.Server.WebConsole;

/// <summary>The "Compliance:Console" section: the read-only compliance console in the browser.</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Compliance:Console";

    /// <summary>Where the console listens (HTTP/1.1, for browsers), for example http://localhost:5081. Unset: no console.</summary>
    public string? Url { get; set; }

    /// <summary>How long a sign-in lasts before the key must be given again.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);
}
