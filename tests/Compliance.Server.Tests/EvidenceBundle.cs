using System.IO.Compression;
using System.Text.Json;
using Compliance.Api.V1;
using Grpc.Core;

namespace Compliance.Server.Tests;

/// <summary>An evidence bundle downloaded over AuditService.ExportEvidence, read file by file.</summary>
internal sealed class EvidenceBundle(byte[] zip)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<EvidenceBundle> DownloadAsync(AuditService.AuditServiceClient client, ExportEvidenceRequest request)
    {
        using var call = client.ExportEvidence(request, cancellationToken: Ct);
        using var buffer = new MemoryStream();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(Ct))
        {
            chunk.Chunk.WriteTo(buffer);
        }

        return new EvidenceBundle(buffer.ToArray());
    }

    public string Read(string name)
    {
        using var archive = new ZipArchive(new MemoryStream(zip));
        using var reader = new StreamReader(archive.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }

    /// <summary>The stored events of events.jsonl, as JSON.</summary>
    public IReadOnlyList<JsonElement> Events() =>
        Read("events.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("event")).ToList();
}
