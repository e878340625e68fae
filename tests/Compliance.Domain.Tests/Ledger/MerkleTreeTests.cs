using System.Security.Cryptography;
using System.Text;
using Compliance.Domain.Ledger;

namespace Compliance.Domain.Tests.Ledger;

public sealed class MerkleTreeTests
{
    private static List<byte[]> Leaves(int count) => Enumerable.Range(0, count).Select(i => MerkleTree.Leaf(Encoding.UTF8.GetBytes($"event-{i}"))).ToList();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(2000)]
    public void EveryLeaf_ProvesItsPlace_AndNoOtherLeafDoes(int count)
    {
        var leaves = Leaves(count);
        var root = MerkleTree.Root(leaves);
        var stranger = MerkleTree.Leaf("not in the batch"u8);

        for (var i = 0; i < count; i++)
        {
            var proof = MerkleTree.Proof(leaves, i);
            Assert.True(MerkleTree.Verify(leaves[i], proof, root), $"leaf {i} of {count}");
            Assert.False(MerkleTree.Verify(stranger, proof, root), $"a stranger in place of leaf {i} of {count}");
            Assert.True(proof.Count <= Math.Ceiling(Math.Log2(count)), "a proof has at most log2(n) steps");
        }
    }

    [Fact]
    public void TheRoot_ChangesWithAnyLeaf_AndWithTheirOrder()
    {
        var leaves = Leaves(5);
        var root = MerkleTree.Root(leaves);
        var changed = Leaves(5);
        changed[3] = MerkleTree.Leaf("event-3 changed"u8);
        var swapped = Leaves(5);
        (swapped[1], swapped[2]) = (swapped[2], swapped[1]);

        Assert.NotEqual(root, MerkleTree.Root(changed));
        Assert.NotEqual(root, MerkleTree.Root(swapped));
        Assert.NotEqual(root, MerkleTree.Root(leaves.Take(4).ToList()));
        Assert.Equal(root, MerkleTree.Root(Leaves(5)));
    }

    [Fact]
    public void LeavesAndNodes_AreHashedApart()
    {
        var a = MerkleTree.Leaf("a"u8);
        var b = MerkleTree.Leaf("b"u8);
        var node = MerkleTree.Node(a, b);

        // A node's hash is not the leaf hash of its children's bytes, so a two-leaf root cannot pass as one leaf.
        Assert.NotEqual(node, MerkleTree.Leaf([.. a, .. b]));
        Assert.Equal(SHA256.HashData([1, .. a, .. b]), node);
    }

    [Fact]
    public void ReusedSha256_IsSha256_OnEveryCall_AndOnEveryThread()
    {
        var inputs = new[] { Array.Empty<byte>(), "abc"u8.ToArray(), Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray() };

        var onThreads = Enumerable.Range(0, 8).AsParallel().SelectMany(_ => inputs.Select(input => ReusedSha256.Hash(input))).ToList();

        foreach (var input in inputs)
        {
            Assert.Equal(SHA256.HashData(input), ReusedSha256.Hash(input));
            Assert.Equal(SHA256.HashData(input), ReusedSha256.Hash(input));
        }

        Assert.Equal(8 * inputs.Length, onThreads.Count);
        Assert.All(onThreads, hash => Assert.Contains(inputs, input => SHA256.HashData(input).AsSpan().SequenceEqual(hash)));
    }
}
