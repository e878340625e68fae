using System.Security.Cryptography;
using System.Text.Json;
using Compliance.Domain.Ledger;
using Compliance.Storage;

namespace Compliance.Server.Audit;

/// <summary>
/// Signs chain heads and verifies chains: against the signed checkpoints (stored, in the witness file, or kept by an
/// auditor), against the recorded head, and against the working rows the chain vouches for (see <see cref="BoundTable"/>).
/// </summary>
internal sealed class LedgerAuditor(IComplianceStore store, LedgerKeys keys, CheckpointWitness witness, LedgerIntegrity integrity, TimeProvider clock,
    ILogger<LedgerAuditor> logger)
{
    /// <summary>How the problems that stop signing begin (the checkpoint service tells them from other failures by it).</summary>
    public const string ProblemPrefix = "Ledger of lender";

    /// <summary>How many findings one answer lists (the rest are counted).</summary>
    private const int FindingsShown = 10;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The last position this process signed per lender: a checkpoint table that shrinks below it was tampered with.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _signed = new();

    /// <summary>The newest checkpoint in the witness per lender, read from the file once and kept as this process appends.</summary>
    private Dictionary<string, Checkpoint>? _witnessed;

    /// <summary>
    /// Signs the head of every lender's chain that moved since its last checkpoint; returns how many were signed. A head
    /// is signed only when the chain extends the newest checkpoint anyone can see (stored, in the witness file, or signed
    /// by this process), the recorded head is the chain's end, and the entries since the last checkpoint link to it:
    /// a chain rewritten, cut or rolled back in the database is never blessed by a new signature. Such a lender is
    /// reported (logged, and health says NOT_SERVING until it signs again), not signed.
    /// </summary>
    public async Task<int> CheckpointAsync(CancellationToken ct)
    {
        var signed = 0;
        var problems = new List<string>();
        _witnessed ??= witness.ReadNewest();
        foreach (var lender in await store.LedgerLendersAsync(ct))
        {
            var problem = await SignAsync(lender, ct);
            if (problem is null)
            {
                integrity.Clear(lender);
                continue;
            }

            if (problem.Length == 0)
            {
                signed++;
                integrity.Clear(lender);
                continue;
            }

            problems.Add(problem);
            integrity.Report(lender, problem);
        }

        return problems.Count == 0 ? signed : throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
    }

    /// <summary>Signs the lender's head: "" when signed, null when nothing moved, else why it refused.</summary>
    private async Task<string?> SignAsync(string lender, CancellationToken ct)
    {
        // End, then head: they move in one transaction, so honestly the head read second is at or past the end.
        var chainEnd = await store.MaxSeqAsync(lender, ct);
        var head = await store.HeadAsync(lender, ct);
        var checkpoints = await store.CheckpointsAsync(lender, ct);
        var lastSigned = checkpoints.Count == 0 ? null : checkpoints[^1];
        var stored = lastSigned?.Seq ?? 0;
        var refuse = $"{ProblemPrefix} {lender}: ";
        const string Refusing = "; refusing to sign until an auditor has looked.";
        if (_witnessed!.TryGetValue(lender, out var witnessed) && witnessed.Seq > stored)
        {
            return $"{refuse}the witness file holds a checkpoint at entry {witnessed.Seq} (signed {witnessed.SignedAt:u}) but the newest stored one is at entry {stored}: checkpoint rows were deleted or the database is an older copy{Refusing}";
        }

        if (_signed.TryGetValue(lender, out var known) && stored < known)
        {
            return $"{refuse}checkpoints up to entry {known} were signed but the newest stored one is {stored}{Refusing}";
        }

        if (head is null)
        {
            return chainEnd == 0 ? null : $"{refuse}the chain holds {chainEnd} entries but no recorded head (ledger_heads){Refusing}";
        }

        if (head.Seq < chainEnd)
        {
            return $"{refuse}the chain holds entries up to {chainEnd} beyond the recorded head (ledger_heads) at entry {head.Seq}: the head was set back{Refusing}";
        }

        if (lastSigned is not null && head.Seq < lastSigned.Seq)
        {
            return $"{refuse}the chain ends at entry {head.Seq} but a checkpoint was signed at entry {lastSigned.Seq}: the chain was cut or rolled back{Refusing}";
        }

        if (lastSigned is not null && head.Seq == lastSigned.Seq)
        {
            return CryptographicOperations.FixedTimeEquals(head.Hash, lastSigned.Hash) ? null
                : $"{refuse}the recorded head differs from the checkpoint signed at entry {head.Seq}: the chain was rewritten{Refusing}";
        }

        var from = lastSigned is null ? LedgerChain.Start(lender) : new LedgerHead(lastSigned.Seq, lastSigned.Hash);
        // The chain only: that it links on from the last checkpoint to the head. Checking each entry's rows (every event
        // of every batch read back and hashed) is Verify's work; done here, it read the whole minute's events again
        // before each checkpoint, about as much work as storing them.
        var stretch = Walk(lender, from, head.Seq, [], head.Seq, null, ct, rows: false);
        if (!stretch.Valid || stretch.EntriesChecked != head.Seq - from.Seq)
        {
            return $"{ProblemPrefix} {lender} does not verify since its last checkpoint ({stretch.Reason}); refusing to sign its head.";
        }

        var checkpoint = CheckpointSignature.Sign(keys.Signer, lender, head.Seq, head.Hash, clock.GetUtcNow(), anchor: false);
        await store.AddCheckpointAsync(checkpoint, ct);
        _signed[lender] = head.Seq;
        return Witness(checkpoint) ?? "";
    }

    /// <summary>Writes a checkpoint just stored to the witness file and the log; why it could not, or null.</summary>
    public string? Witness(Checkpoint checkpoint)
    {
        var line = CheckpointLine.Of(checkpoint).ToJson();
        logger.LogInformation("Signed ledger checkpoint {Checkpoint}", line);
        try
        {
            witness.Append(checkpoint);
            if (_witnessed is not null && !checkpoint.Anchor)
            {
                _witnessed[checkpoint.LenderId] = checkpoint;
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("The checkpoint at entry {Seq} of lender {Lender} could not be written to the witness file {Path}: {Error}",
                checkpoint.Seq, checkpoint.LenderId, witness.Path, e.Message);
            return $"{ProblemPrefix} {checkpoint.LenderId}: the checkpoint at entry {checkpoint.Seq} was signed but could not be written to the witness file ({e.Message}).";
        }
    }

    /// <summary>
    /// Verifies the lender's chain from its trusted start (the genesis, or the latest signed purge anchor) through its
    /// end, then what the chain vouches for: the recorded head, every checkpoint the database, the witness file and the
    /// caller (<paramref name="kept"/>) hold, and every working row bound to the chain. The start never depends on which
    /// entries survive, so removing a stretch of old entries is detected like any other removal; the period
    /// [<paramref name="from"/>, <paramref name="to"/>) only says which entries the caller cares about (all are verified,
    /// because the chain links through them and rows are bound anywhere in it).
    /// </summary>
    public async Task<VerifyResult> VerifyAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct, IReadOnlyList<Checkpoint>? kept = null)
    {
        // The period is kept for callers that name one; every entry is walked whatever it is.
        _ = (from, to);
        var checkpoints = await store.CheckpointsAsync(lenderId, ct);
        // Head, end, head: the head and the entries move in one transaction, so honestly the first head is no further
        // than the end and the second no nearer (entries appended meanwhile are not walked).
        var head = await store.HeadAsync(lenderId, ct);
        var chainEnd = await store.MaxSeqAsync(lenderId, ct);
        var headAfter = await store.HeadAsync(lenderId, ct);

        var start = LedgerChain.Start(lenderId);
        var anchored = false;
        foreach (var anchor in checkpoints.Where(c => c.Anchor).OrderBy(c => c.Seq))
        {
            if (!CheckpointSignature.Verify(keys.Verifier, anchor))
            {
                return VerifyResult.Bad(0, 0, anchor.Seq, $"the purge anchor at entry {anchor.Seq} has an invalid signature");
            }

            start = new LedgerHead(anchor.Seq, anchor.Hash);
            anchored = true;
        }

        var external = witness.Read(lenderId).Where(c => !c.Anchor).Select(c => (Checkpoint: c, Source: $"the witness file {witness.Path}"))
            .Concat((kept ?? []).Select(c => (Checkpoint: c, Source: "the checkpoint file given")))
            .ToList();
        var wanted = external.Select(e => e.Checkpoint.Seq).Append(head?.Seq ?? 0).Where(s => s > start.Seq && s <= chainEnd).ToHashSet();
        var walk = new WalkState(wanted);
        var later = checkpoints.Where(c => c.Seq > start.Seq && !c.Anchor).ToList();
        var chain = Walk(lenderId, start, chainEnd, later, chainEnd, walk, ct);
        if (!chain.Valid)
        {
            return chain;
        }

        var findings = new List<(long Seq, string Text)>(walk.Findings);
        CheckHead(head, headAfter, chainEnd, walk, findings);
        var checkedCheckpoints = chain.CheckpointsChecked + CheckExternal(lenderId, external, checkpoints, start, chainEnd, walk, findings);
        if (_signed.TryGetValue(lenderId, out var known) && checkpoints.Where(c => !c.Anchor).Select(c => c.Seq).DefaultIfEmpty(0).Max() < known)
        {
            findings.Add((known, $"this service signed a checkpoint at entry {known}, but no stored checkpoint reaches it: checkpoint rows were deleted"));
        }

        if (integrity.Problem(lenderId) is { } refused)
        {
            findings.Add((0, $"the service refuses to sign checkpoints: {refused}"));
        }

        await CheckRowsAsync(lenderId, walk.Bindings, anchored, findings, ct);
        if (findings.Count == 0)
        {
            return new VerifyResult(true, chain.EntriesChecked, checkedCheckpoints, 0, "");
        }

        var shown = string.Join("; ", findings.Take(FindingsShown).Select(f => f.Text));
        var more = findings.Count > FindingsShown ? $"; and {findings.Count - FindingsShown} more" : "";
        var first = findings.Where(f => f.Seq > 0).Select(f => f.Seq).DefaultIfEmpty(0).Min();
        return VerifyResult.Bad(chain.EntriesChecked, checkedCheckpoints, first, shown + more);
    }

    private static void CheckHead(LedgerHead? head, LedgerHead? headAfter, long chainEnd, WalkState walk, List<(long, string)> findings)
    {
        if (head is null || headAfter is null)
        {
            if (chainEnd > 0)
            {
                findings.Add((chainEnd, $"the chain holds entries up to {chainEnd} but has no recorded head (ledger_heads)"));
            }

            return;
        }

        if (head.Seq > chainEnd)
        {
            findings.Add((chainEnd + 1, $"the recorded head (ledger_heads) is at entry {head.Seq} but the chain ends at entry {chainEnd}: the tail was cut"));
        }
        else if (headAfter.Seq < chainEnd)
        {
            findings.Add((headAfter.Seq + 1, $"the chain holds entries up to {chainEnd} beyond the recorded head (ledger_heads) at entry {headAfter.Seq}: the head was set back"));
        }
        else if (walk.Hashes.TryGetValue(head.Seq, out var hash) && !CryptographicOperations.FixedTimeEquals(hash, head.Hash))
        {
            findings.Add((head.Seq, $"the recorded head (ledger_heads) differs from entry {head.Seq}: the chain was rewritten"));
        }
    }

    /// <summary>Checks the checkpoints held outside the database against the chain and the stored ones; returns how many of them
    /// are not the same as a stored one (those were checked with the chain).</summary>
    private long CheckExternal(string lenderId, List<(Checkpoint Checkpoint, string Source)> external, IReadOnlyList<Checkpoint> stored, LedgerHead start,
        long chainEnd, WalkState walk, List<(long, string)> findings)
    {
        long count = 0;
        foreach (var (c, source) in external)
        {
            if (c.LenderId != lenderId || c.Seq < start.Seq)
            {
                continue;
            }

            var isStored = stored.Any(s => !s.Anchor && s.Seq == c.Seq && s.SignedAt == c.SignedAt && s.Signature.AsSpan().SequenceEqual(c.Signature));
            count += isStored ? 0 : 1;
            if (!CheckpointSignature.Verify(keys.Verifier, c))
            {
                findings.Add((c.Seq, $"the checkpoint for entry {c.Seq} in {source} has an invalid signature"));
            }
            else if (c.Seq > chainEnd)
            {
                findings.Add((chainEnd + 1, $"{source} holds a checkpoint signed {c.SignedAt:u} at entry {c.Seq}, but the chain ends at entry {chainEnd}: the chain was cut or rolled back (an older copy of the database?)"));
            }
            else if ((c.Seq == start.Seq ? start.Hash : walk.Hashes.GetValueOrDefault(c.Seq)) is { } hash && !CryptographicOperations.FixedTimeEquals(hash, c.Hash))
            {
                findings.Add((c.Seq, $"entry {c.Seq} differs from the checkpoint {source} holds for that position: the chain was rewritten"));
            }
            else if (c.Seq > start.Seq && !isStored)
            {
                findings.Add((c.Seq, $"the checkpoint signed {c.SignedAt:u} at entry {c.Seq} is in {source} but not in the database: checkpoint rows were deleted"));
            }
        }

        return count;
    }

    /// <summary>Reads every bound table and compares each row with the binding the chain holds for it.</summary>
    private async Task CheckRowsAsync(string lenderId, Dictionary<(string Table, string Key), (long Seq, string Hash)> bindings, bool anchored,
        List<(long, string)> findings, CancellationToken ct)
    {
        foreach (var table in BoundTable.All)
        {
            await foreach (var row in store.StoredRowsAsync(lenderId, table, ct))
            {
                if (!bindings.Remove((table.Name, row.Key), out var bound))
                {
                    // Rows bound by purged entries stay; what they were cannot be checked any more.
                    if (!anchored)
                    {
                        findings.Add((0, $"{table.Name} row {row.Key} is not recorded in the ledger: it was added outside the service"));
                    }
                }
                else if (bound.Hash != row.Hash)
                {
                    findings.Add((bound.Seq, $"{table.Name} row {row.Key} differs from what ledger entry {bound.Seq} recorded ({await DifferenceAsync(lenderId, row, bound.Seq, ct)})"));
                }
            }
        }

        foreach (var ((tableName, key), bound) in bindings.OrderBy(b => b.Value.Seq))
        {
            findings.Add((bound.Seq, $"{tableName} row {key}, recorded at ledger entry {bound.Seq}, is missing from the table: it was deleted"));
        }
    }

    /// <summary>Names the stored columns that differ from the fields of the entry's payload of the same name, where it has them.</summary>
    private async Task<string> DifferenceAsync(string lenderId, StoredRow row, long seq, CancellationToken ct)
    {
        var entry = await store.EntriesAsync(lenderId, seq, seq, ct).FirstOrDefaultAsync(ct);
        var differing = new List<string>();
        if (entry is not null)
        {
            using var payload = JsonDocument.Parse(entry.Payload);
            foreach (var (column, value) in row.Values)
            {
                if (payload.RootElement.TryGetProperty(JsonNamingPolicy.CamelCase.ConvertName(Pascal(column)), out var recorded) && Differs(value, recorded))
                {
                    differing.Add(column);
                }
            }
        }

        return differing.Count > 0
            ? $"{string.Join(", ", differing)} changed"
            : "its content no longer matches the hash recorded there";
    }

    private static string Pascal(string snake) => string.Concat(snake.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));

    /// <summary>Whether a stored value and a recorded field clearly differ (fields of other shapes are not compared).</summary>
    private static bool Differs(object? stored, JsonElement recorded)
    {
        var (tag, text) = RowDigest.Canonical(stored);
        return recorded.ValueKind switch
        {
            JsonValueKind.Null => tag != 'N',
            JsonValueKind.True or JsonValueKind.False => tag != 'I' || text != (recorded.GetBoolean() ? "1" : "0"),
            JsonValueKind.Number => tag == 'N' || (tag == 'I' && recorded.TryGetInt64(out var n) && text != n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            JsonValueKind.String when tag == 'I' && recorded.TryGetDateTimeOffset(out var t) => text != t.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            JsonValueKind.String => tag == 'S' && text != recorded.GetString(),
            JsonValueKind.Array or JsonValueKind.Object => tag == 'S' && text != recorded.GetRawText(),
            _ => false,
        };
    }

    /// <summary>What a walk of the chain gathers for the checks after it.</summary>
    private sealed class WalkState(HashSet<long> wanted)
    {
        public HashSet<long> Wanted { get; } = wanted;

        /// <summary>The hashes of the entries at <see cref="Wanted"/> positions.</summary>
        public Dictionary<long, byte[]> Hashes { get; } = [];

        /// <summary>Each bound row's latest binding: the entry's position and the row hash it recorded.</summary>
        public Dictionary<(string Table, string Key), (long Seq, string Hash)> Bindings { get; } = [];

        public List<(long Seq, string Text)> Findings { get; } = [];
    }

    /// <summary>
    /// Walks the entries after <paramref name="start"/> through <paramref name="last"/>; event batches are checked
    /// against the event log they vouch for (see <see cref="EventBatchCheck"/>), reports against the stored report, and
    /// row bindings are gathered into <paramref name="walk"/>.
    /// </summary>
    /// <param name="rows">Also check each entry against the rows it covers (event batches against the event log, reports against their content).</param>
    private VerifyResult Walk(string lenderId, LedgerHead start, long last, IReadOnlyList<Checkpoint> checkpoints, long chainEnd, WalkState? walk,
        CancellationToken ct, bool rows = true) =>
        new LedgerVerifier(keys.Verifier).Verify(start, store.EntriesAsync(lenderId, start.Seq + 1, last, ct).ToBlockingEnumerable(ct), checkpoints, chainEnd,
            entry =>
            {
                if (rows && (EventBatchCheck.Problem(store, entry, ct) ?? ReportCheck.Problem(store, entry, ct)) is { } problem)
                {
                    return problem;
                }

                if (walk is not null)
                {
                    Gather(entry, walk);
                }

                return null;
            });

    private static void Gather(LedgerEntry entry, WalkState walk)
    {
        if (walk.Wanted.Contains(entry.Seq))
        {
            walk.Hashes[entry.Seq] = entry.Hash;
        }

        if (entry.Kind == LedgerKind.RowsBound)
        {
            foreach (var row in JsonSerializer.Deserialize<RowsBoundPayload>(entry.Payload, Json)?.Rows ?? [])
            {
                if (walk.Bindings.TryGetValue((row.Table, row.Key), out var earlier))
                {
                    walk.Findings.Add((entry.Seq, $"ledger entry {entry.Seq} binds {row.Table} row {row.Key} afresh, though entry {earlier.Seq} had recorded it: a binding of the upgrade was replayed over the row"));
                }

                walk.Bindings[(row.Table, row.Key)] = (entry.Seq, row.Hash);
            }
        }
        else if (entry.Payload.StartsWith("{\"row\":", StringComparison.Ordinal)
                 && JsonSerializer.Deserialize<BoundPayload>(entry.Payload, Json)?.Row is { } row)
        {
            walk.Bindings[(row.Table, row.Key)] = (entry.Seq, row.Hash);
        }
    }

    /// <summary>The part of a payload that says which row the entry binds.</summary>
    private sealed record BoundPayload(RowRef? Row);
}

/// <summary>Which lenders' chains the service refused to sign, and why (health and Verify report it).</summary>
internal sealed class LedgerIntegrity
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _problems = new(StringComparer.Ordinal);

    public void Report(string lenderId, string problem) => _problems[lenderId] = problem;

    public void Clear(string lenderId) => _problems.TryRemove(lenderId, out _);

    public string? Problem(string lenderId) => _problems.GetValueOrDefault(lenderId);

    /// <summary>The first problem of any lender, or null.</summary>
    public string? Any => _problems.Values.FirstOrDefault();
}

/// <summary>Signs chain heads at intervals, and once more when the service stops.</summary>
internal sealed class CheckpointService(LedgerAuditor auditor, Microsoft.Extensions.Options.IOptions<Configuration.ComplianceOptions> options, TimeProvider clock,
    ILogger<CheckpointService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Audit.CheckpointInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await SignAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>How long the last checkpoint may take when the service stops (the host's own token may have run out).</summary>
    private static readonly TimeSpan FinalDeadline = TimeSpan.FromSeconds(3);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(CancellationToken.None);
        using var deadline = new CancellationTokenSource(FinalDeadline);
        try
        {
            await SignAsync(deadline.Token);
            logger.LogInformation("Signed the final ledger checkpoint.");
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("The final ledger checkpoint was not signed within {Deadline}; the next start signs it.", FinalDeadline);
        }
    }

    private async Task SignAsync(CancellationToken ct)
    {
        try
        {
            await auditor.CheckpointAsync(ct);
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith(LedgerAuditor.ProblemPrefix, StringComparison.Ordinal))
        {
            logger.LogCritical("{Problem}", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Signing ledger checkpoints failed; will retry.");
        }
    }
}
