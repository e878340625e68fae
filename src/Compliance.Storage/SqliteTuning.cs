namespace Compliance.Storage;

/// <summary>
/// The embedded store's hand-made mechanisms kept for speed, each of which can be turned off for an A/B measurement
/// (the load tool's storage-ab, docs/adr/0006-event-log.md) or a test; not part of any configuration. Off, each
/// falls back to the plain way of doing the same thing. The key merge is a property of the file as much as of the
/// store: a file is to be written with it on or off throughout (keys waiting for the merge are not inserted by a
/// store that has it off).
/// </summary>
/// <param name="KeyMerge">Event keys wait in memory and are merged into the key tables in bulk, sorted, a part per
/// later commit. Off: each commit inserts its events' keys, as on SQL Server (and no key filter is kept, as it covers
/// the merged keys only).</param>
/// <param name="KeyFilter">A Bloom filter over the merged event keys spares the duplicate check the key-table lookup of
/// ids never seen. Off: every id not in memory is looked up.</param>
/// <param name="RowWriter">Event rows and merged keys are bound by position to statements prepared once per writer
/// and stepped through SQLitePCL's calls. Off: through Microsoft.Data.Sqlite commands with named parameters.</param>
/// <param name="CheckpointControl">No automatic checkpoints: passive ones on a background connection after each write,
/// and the writer starts the log over once it is long. Off: SQLite's automatic checkpoint (every 1,000 pages, by the
/// committing connection), and none of the background or restart work.</param>
internal sealed record SqliteTuning(bool KeyMerge = true, bool KeyFilter = true, bool RowWriter = true, bool CheckpointControl = true)
{
    public static readonly SqliteTuning AllOn = new();
}
