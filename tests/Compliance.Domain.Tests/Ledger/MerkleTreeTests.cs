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
}
