using Compliance.Server.Infrastructure;

namespace Compliance.Server.Tests;

/// <summary>The expiring map behind the account cache and the API-key cache.</summary>
public sealed class ExpiringMapTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AnEntry_IsFoundUntilItExpires_AndUpdatesReplaceIt()
    {
        var map = new ExpiringMap<string, string?>(10);
        map.Put("k", "first", T0.AddMinutes(1));
        map.Put("k", "second", T0.AddMinutes(2));
        map.Put("none", null, T0.AddMinutes(1));

        Assert.True(map.TryGet("k", T0.AddSeconds(90), out var value));
        Assert.Equal("second", value);
        Assert.False(map.TryGet("k", T0.AddMinutes(2), out _));
        Assert.True(map.TryGet("none", T0, out var none));
        Assert.Null(none);
        map.Remove("k");
        Assert.False(map.TryGet("k", T0, out _));
    }

    [Fact]
    public void PastItsLimit_TheMapStartsAfresh_WithTheNewEntry()
    {
        var map = new ExpiringMap<int, int>(3);
        for (var i = 1; i <= 3; i++)
        {
            map.Put(i, i, T0.AddMinutes(1));
        }

        // Updating a key does not count as a new entry.
        map.Put(3, 30, T0.AddMinutes(1));
        var beforeLimit = Enumerable.Range(1, 3).Count(i => map.TryGet(i, T0, out _));
        map.Put(4, 4, T0.AddMinutes(1));
        map.Put(5, 5, T0.AddMinutes(1));

        Assert.Equal(3, beforeLimit);
        Assert.Equal([4, 5], Enumerable.Range(1, 5).Where(i => map.TryGet(i, T0, out _)));
    }

    [Fact]
    public void AValueLoadedWhileAnEntryWasRemoved_IsNotKept()
    {
        var map = new ExpiringMap<string, string>(10);
        var beforeRemoval = map.Generation;
        map.Remove("changed"); // the store changed while a load that began before was reading it
        var beforeClear = map.Generation;
        map.Clear();
        var afterChanges = map.Generation;

        Assert.False(map.PutIfCurrent("account", "read before the change", T0.AddMinutes(1), beforeRemoval));
        Assert.False(map.PutIfCurrent("account", "read before the clear", T0.AddMinutes(1), beforeClear));
        Assert.False(map.TryGet("account", T0, out _));
        Assert.True(map.PutIfCurrent("account", "read after", T0.AddMinutes(1), afterChanges));
        Assert.True(map.TryGet("account", T0, out var kept));
        Assert.Equal("read after", kept);
    }
}
