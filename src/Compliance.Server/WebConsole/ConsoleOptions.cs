namespace Compliance.Server.WebConsole;

/// <summary>The "Compliance:Console" section: the read-only compliance console in the browser.</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Compliance:Console";

    /// <summary>Where the console listens (HTTP/1.1, for browsers), for example http://localhost:5081. Unset: no console.</summary>
    public string? Url { get; set; }

    /// <summary>Where the Data Protection keys that encrypt the session cookies live (default: console-keys in the data
    /// directory). Replicas behind one address need one shared folder, or a session works only on the replica that made it.</summary>
    public string? KeysDirectory { get; set; }

    /// <summary>How long a sign-in lasts before the key must be given again.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);
}
