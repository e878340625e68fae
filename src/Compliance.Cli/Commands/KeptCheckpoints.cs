using System.Text.Json;
using Compliance.Api.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.Cli.Commands;

/// <summary>
/// Reads checkpoints an auditor kept: the service's witness file (one JSON object a line), or lines of its log that
/// carry the same object after "Signed ledger checkpoint". Purge anchors and other lines are skipped.
/// </summary>
internal static class KeptCheckpoints
{
    private const string Marker = "Signed ledger checkpoint ";

    public static List<KeptCheckpoint> Read(string path)
    {
        var kept = new List<KeptCheckpoint>();
        using var reader = FileInput.OpenText(path);
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            var at = line.IndexOf(Marker, StringComparison.Ordinal);
            var json = at >= 0 ? line[(at + Marker.Length)..].Trim() : line.Trim();
            if (!json.StartsWith('{'))
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(json);
                var root = document.RootElement;
                if (root.TryGetProperty("anchor", out var anchor) && anchor.GetBoolean())
                {
                    continue;
                }

                kept.Add(new KeptCheckpoint
                {
                    LenderId = root.GetProperty("lenderId").GetString() ?? "",
                    Sequence = root.GetProperty("seq").GetInt64(),
                    Hash = root.GetProperty("hash").GetString() ?? "",
                    SignedAt = Timestamp.FromDateTimeOffset(root.GetProperty("signedAt").GetDateTimeOffset()),
                    Signature = ByteString.CopyFrom(Convert.FromBase64String(root.GetProperty("signature").GetString() ?? "")),
                });
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new UsageException($"{FileInput.Name(path)} line {number} is not a checkpoint: {e.Message}");
            }
        }

        return kept.Count > 0 ? kept : throw new UsageException($"{FileInput.Name(path)} holds no checkpoint.");
    }
}
