using System.Text.Json;
using Compliance.Domain.Ledger;

namespace Compliance.Storage;

/// <summary>
/// Checks a report entry against the stored report: the entry holds the SHA-256 of the report's content, which lives in
/// the reports table, so a report edited after it was issued is found like a changed entry. For
/// <see cref="LedgerVerifier"/>'s contents check.
/// </summary>
public static class ReportCheck
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Why the report does not match its entry, or null when it does (or the entry is no report).</summary>
    public static string? Problem(IReportStore store, LedgerEntry entry, CancellationToken ct)
    {
        if (entry.Kind != LedgerKind.Report)
        {
            return null;
        }

        var payload = JsonSerializer.Deserialize<ReportLedgerPayload>(entry.Payload, Json);
        var stored = store.ReportContentSha256Async(entry.LenderId, entry.RefId, ct).GetAwaiter().GetResult();
        return stored is null ? $"report {entry.RefId} is missing from the reports"
            : stored != payload?.ContentSha256 ? $"report {entry.RefId} was changed after it was issued: its content no longer matches the recorded SHA-256"
            : null;
    }
}
