using System.Text;

namespace Compliance.Storage.Tests;

/// <summary>The duplicate check's Bloom filter: no stored key is ever missed, and few absent keys are let through.</summary>
public sealed class EventKeyFilterTests
{
    private const int Keys = 200_000;

    [Fact]
    public void EveryKeyAdded_IsFound_WhetherAddedAsStringsOrAsTheKeyTablesBytes()
    {
        var filter = new EventKeyFilter(Keys);
        for (var n = 0; n < Keys; n++)
        {
            if (n % 2 == 0)
            {
                filter.Add("lender-a", $"evt-{n}");
            }
            else
            {
                // As the key table stores them (UTF-8), including ids outside ASCII.
                filter.Add(Encoding.UTF8.GetBytes("lender-a"), Encoding.UTF8.GetBytes($"事件-{n}"));
            }
        }

        var missed = Enumerable.Range(0, Keys).Count(n => !filter.MayContain("lender-a", n % 2 == 0 ? $"evt-{n}" : $"事件-{n}"));

        Assert.Equal(0, missed);
        Assert.Equal(Keys, filter.Count);
    }

    [Fact]
    public void AbsentKeys_AreLetThroughAboutOnceInAHundred_AtTheSizedCapacity()
    {
        var filter = new EventKeyFilter(Keys);
        for (var n = 0; n < Keys; n++)
        {
            filter.Add("lender-a", $"evt-{n}");
        }

        // Other ids, the same id of another lender, and the parts' boundary moved ("lender-ae", "vt-1").
        var falsePositives = Enumerable.Range(0, Keys).Count(n => filter.MayContain("lender-a", $"other-{n}"));
        var otherLender = Enumerable.Range(0, 10_000).Count(n => filter.MayContain("lender-b", $"evt-{n}"));
        var shifted = Enumerable.Range(0, 10_000).Count(n => filter.MayContain("lender-ae", $"vt-{n}"));

        Assert.InRange(falsePositives / (double)Keys, 0, 0.02);
        Assert.InRange(otherLender, 0, 200);
        Assert.InRange(shifted, 0, 200);
    }
}
