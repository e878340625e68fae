using System.Text.Json;

namespace Compliance.Cli;

/// <summary>
/// The dev-keys.json the server writes into its data directory in Development: the demo lender's keys, the
/// platform administrator key and the address the server listens on.
/// </summary>
internal sealed class KeyFile
{
    public const string FileName = "dev-keys.json";

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public required string Path { get; init; }

    public string? LenderId { get; init; }

    public string? Endpoint { get; init; }

    public string? PlatformAdminKey { get; init; }

    public IReadOnlyDictionary<string, string> Keys { get; init; } = new Dictionary<string, string>();

    public static string PathIn(string dataDirectory) => System.IO.Path.Combine(dataDirectory, FileName);

    /// <summary>Reads the file; null when it does not exist.</summary>
    public static KeyFile? TryRead(string dataDirectory)
    {
        var path = PathIn(dataDirectory);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var document = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), JsonOptions)
                ?? throw new UsageException($"{path} is empty.");
            return new KeyFile
            {
                Path = path,
                LenderId = document.LenderId,
                Endpoint = document.Endpoint,
                PlatformAdminKey = document.PlatformAdminKey,
                Keys = document.Keys ?? [],
            };
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{path} is not a valid key file: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UsageException($"{path} cannot be read: {ex.Message}");
        }
    }

    public string? KeyFor(KeyRole role) => role == KeyRole.PlatformAdmin
        ? PlatformAdminKey
        : Keys.GetValueOrDefault(Words.KeyFileNames[role]);

    private sealed class Document
    {
        public string? LenderId { get; set; }

        public string? Endpoint { get; set; }

        public string? PlatformAdminKey { get; set; }

        public Dictionary<string, string>? Keys { get; set; }
    }
}

/// <summary>A mistake the person at the keyboard can fix; printed as "error: ..." with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
