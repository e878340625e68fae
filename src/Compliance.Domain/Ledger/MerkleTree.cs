using System.Security.Cryptography;

namespace Compliance.Domain.Ledger;

/// <summary>
/// A binary hash tree over a batch's leaf hashes, so one ledger entry can vouch for thousands of events and any one
/// of them can be shown to belong to it with about log2(n) hashes. Leaves and inner nodes are hashed with different
/// prefixes (0x00 and 0x01), so a leaf can never pass for a node. A level with an odd count carries its last node up
/// unchanged.
/// </summary>
public static class MerkleTree
{
    /// <summary>One step of a proof: the sibling's hash and whether it stands on the left.</summary>
    public readonly record struct Step(byte[] Sibling, bool Left);

    /// <summary>SHA-256(0x00 | data): the leaf of one item.</summary>
    public static byte[] Leaf(ReadOnlySpan<byte> data)
    {
        var buffer = data.Length < 1024 ? stackalloc byte[data.Length + 1] : new byte[data.Length + 1];
        buffer[0] = 0;
        data.CopyTo(buffer[1..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>SHA-256(0x01 | left | right).</summary>
    public static byte[] Node(byte[] left, byte[] right)
    {
        Span<byte> buffer = stackalloc byte[65];
        buffer[0] = 1;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[33..]);
        return ReusedSha256.Hash(buffer);
    }

    /// <summary>The root over the leaves in order; the root of no leaves is SHA-256 of nothing.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leaves)
    {
        if (leaves.Count == 0)
        {
            return SHA256.HashData([]);
        }

        var level = leaves.ToList();
        while (level.Count > 1)
        {
            level = Up(level);
        }

        return level[0];
    }

    /// <summary>The siblings from the leaf at <paramref name="index"/> up to the root.</summary>
    public static IReadOnlyList<Step> Proof(IReadOnlyList<byte[]> leaves, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, leaves.Count);
        var steps = new List<Step>();
        var level = leaves.ToList();
        while (level.Count > 1)
        {
            var sibling = index ^ 1;
            if (sibling < level.Count)
            {
                steps.Add(new Step(level[sibling], Left: sibling < index));
            }

            level = Up(level);
            index /= 2;
        }

        return steps;
    }

    /// <summary>Whether <paramref name="leaf"/> with <paramref name="proof"/> leads to <paramref name="root"/>.</summary>
    public static bool Verify(byte[] leaf, IEnumerable<Step> proof, byte[] root)
    {
        var hash = leaf;
        foreach (var step in proof)
        {
            hash = step.Left ? Node(step.Sibling, hash) : Node(hash, step.Sibling);
        }

        return CryptographicOperations.FixedTimeEquals(hash, root);
    }

    private static List<byte[]> Up(List<byte[]> level)
    {
        var up = new List<byte[]>((level.Count + 1) / 2);
        for (var i = 0; i + 1 < level.Count; i += 2)
        {
            up.Add(Node(level[i], level[i + 1]));
        }

        if (level.Count % 2 == 1)
        {
            up.Add(level[^1]);
        }

        return up;
    }
}
