using Compliance.Domain.Ledger;

namespace Compliance.Storage;

/// <summary>Where a complaint came from.</summary>
public enum ComplaintSource
{
    Unspecified = 0,
    RegulatorHotline = 1,
    Borrower = 2,
    Court = 3,
    Other = 4,
}

/// <summary>Where a complaint stands.</summary>
public enum ComplaintStatus
{
    Unspecified = 0,
    Received = 1,
    Investigating = 2,
    Answered = 3,
    Closed = 4,
}

/// <summary>A complaint about collection conduct on one account.</summary>
public sealed record Complaint(
    string LenderId,
    string ComplaintId,
    ComplaintSource Source,
    string Reference,
    string AccountId,
    DateTimeOffset ReceivedAt,
    string Text,
    ComplaintStatus Status,
    DateTimeOffset? DueAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>The tamper-evident ledger: every decision, event, policy and flag change, complaint and evidence read.</summary>
public interface ILedgerStore
{
    /// <summary>Appends one entry in its own transaction (for facts recorded outside the gate and the stream).</summary>
    Task<LedgerEntry> AppendAsync(string lenderId, LedgerKind kind, string refId, string accountId, DateTimeOffset at, object payload, CancellationToken ct);

    Task<LedgerHead?> HeadAsync(string lenderId, CancellationToken ct);
    Task<IReadOnlyList<string>> LedgerLendersAsync(CancellationToken ct);
    Task<IReadOnlyList<Checkpoint>> CheckpointsAsync(string lenderId, CancellationToken ct);
    Task AddCheckpointAsync(Checkpoint checkpoint, CancellationToken ct);

    /// <summary>Entries with positions in [fromSeq, toSeq], in position order, streamed.</summary>
    IAsyncEnumerable<LedgerEntry> EntriesAsync(string lenderId, long fromSeq, long toSeq, CancellationToken ct);

    /// <summary>The lowest and highest positions recorded in [from, to), or null when none.</summary>
    Task<(long First, long Last)?> SeqRangeAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    /// <summary>The last position of the chain's oldest stretch that may be purged: every entry up to it was recorded
    /// before <paramref name="cutoff"/> and is about an account with no activity since (0 when the first entry must stay).
    /// A stray old timestamp later in the chain cannot pull younger entries into a purge.</summary>
    Task<long> LastSeqOfPrefixBeforeAsync(string lenderId, DateTimeOffset cutoff, CancellationToken ct);

    /// <summary>The highest stored position (0 when empty): the end of the chain as the store holds it.</summary>
    Task<long> MaxSeqAsync(string lenderId, CancellationToken ct);

    /// <summary>Every stored row of a bound table of the lender, by key, each with its hash recomputed from its columns.</summary>
    IAsyncEnumerable<StoredRow> StoredRowsAsync(string lenderId, BoundTable table, CancellationToken ct);

    Task<IReadOnlyList<LedgerEntry>> EntriesOfAccountAsync(string lenderId, string accountId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    /// <summary>Removes entries up to and including <paramref name="lastSeq"/>, in the same transaction as storing the anchor that keeps the rest verifiable.</summary>
    Task<int> PurgeAsync(string lenderId, long lastSeq, Checkpoint anchor, CancellationToken ct);

    Task<Complaint> AddComplaintAsync(Complaint complaint, CancellationToken ct);
    Task<Complaint?> GetComplaintAsync(string lenderId, string complaintId, CancellationToken ct);
    Task<Page<Complaint>> ListComplaintsAsync(string lenderId, ComplaintStatus status, int limit, string? after, CancellationToken ct);
    Task<Complaint?> UpdateComplaintStatusAsync(string lenderId, string complaintId, ComplaintStatus status, string note, DateTimeOffset at, string by, CancellationToken ct);
}
