using System.Text.Json;
using Compliance.Domain.Ledger;
using Compliance.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Audit;

/// <summary>
/// One signed checkpoint as a line of the witness file, of the log and of an auditor's checkpoint file: the lender,
/// position, entry hash (hex), signing time, whether it is a purge anchor, and the signature (base64).
/// </summary>
internal sealed record CheckpointLine(string LenderId, long Seq, string Hash, DateTimeOffset SignedAt, bool Anchor, string Signature)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static CheckpointLine Of(Checkpoint c) => new(c.LenderId, c.Seq, Convert.ToHexStringLower(c.Hash), c.SignedAt, c.Anchor, Convert.ToBase64String(c.Signature));

    public Checkpoint ToCheckpoint() => new(LenderId, Seq, Convert.FromHexString(Hash), SignedAt, Anchor, Convert.FromBase64String(Signature));

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The checkpoint of a line, or null when the line is not one (blank, or another record).</summary>
    public static Checkpoint? Parse(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<CheckpointLine>(line, Json)?.ToCheckpoint();
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return null;
        }
    }
}

/// <summary>
/// The append-only file outside the database that holds every checkpoint this service signed (see
/// <see cref="AuditOptions.WitnessPath"/>). The database can be rolled back or stripped of its checkpoints; the witness
/// still holds what was signed, and neither the signer nor the verifier accepts a chain that does not extend it.
/// </summary>
internal sealed class CheckpointWitness(IOptions<ComplianceOptions> options)
{
    private readonly Lock _lock = new();

    public string Path { get; } = options.Value.Audit.WitnessFile(options.Value.DataDirectory);

    /// <summary>Appends the checkpoint as one line and flushes it to the disk.</summary>
    public void Append(Checkpoint checkpoint)
    {
        var line = CheckpointLine.Of(checkpoint).ToJson() + "\n";
        lock (_lock)
        {
            var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            var create = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var file = new FileStream(Path, create);
            file.Write(System.Text.Encoding.UTF8.GetBytes(line));
            file.Flush(flushToDisk: true);
        }
    }

    /// <summary>The newest checkpoint (not purge anchor) of each lender the witness holds.</summary>
    public Dictionary<string, Checkpoint> ReadNewest()
    {
        var newest = new Dictionary<string, Checkpoint>(StringComparer.Ordinal);
        foreach (var c in ReadAll().Where(c => !c.Anchor))
        {
            if (!newest.TryGetValue(c.LenderId, out var known) || c.Seq >= known.Seq)
            {
                newest[c.LenderId] = c;
            }
        }

        return newest;
    }

    /// <summary>The checkpoints of one lender the witness holds, oldest first (none when the file does not exist yet).</summary>
    public IReadOnlyList<Checkpoint> Read(string lenderId) => ReadAll().Where(c => c.LenderId == lenderId).ToList();

    /// <summary>Every checkpoint in the file, in the order written (none when the file does not exist yet).</summary>
    private List<Checkpoint> ReadAll()
    {
        if (!File.Exists(Path))
        {
            return [];
        }

        lock (_lock)
        {
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var found = new List<Checkpoint>();
            while (reader.ReadLine() is { } line)
            {
                if (CheckpointLine.Parse(line) is { } c)
                {
                    found.Add(c);
                }
            }

            return found;
        }
    }
}
