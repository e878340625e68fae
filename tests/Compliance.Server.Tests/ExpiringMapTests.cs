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
    public void AValueLoadedWhileItsEntryWasRemoved_IsNotKept_WhileOthersAre()
    {
        var map = new ExpiringMap<string, string>(10);
        var beforeRemoval = map.Generation;
        map.Remove("changed"); // the store changed while loads that began before were reading it
        map.Remove("other");

        Assert.False(map.PutIfCurrent("changed", "read before its change", T0.AddMinutes(1), beforeRemoval));
        Assert.False(map.TryGet("changed", T0, out _));
        // A change to another key says nothing of this one: what was read stands.
        Assert.True(map.PutIfCurrent("account", "read beside another's change", T0.AddMinutes(1), beforeRemoval));
        Assert.True(map.TryGet("account", T0, out var kept));
        Assert.Equal("read beside another's change", kept);
        Assert.True(map.PutIfCurrent("changed", "read after", T0.AddMinutes(1), map.Generation));
    }

    [Fact]
    public void AValueLoadedWhileTheMapWasCleared_OrLongBefore_IsNotKept()
    {
        var map = new ExpiringMap<string, string>(10);
        var beforeClear = map.Generation;
        map.Clear();
        var afterClear = map.Generation;
        for (var i = 0; i < ExpiringMap<string, string>.RemovalsKept; i++)
        {
            map.Remove($"k{i}");
        }

        var recent = map.Generation;
        map.Remove("k-last");

        Assert.False(map.PutIfCurrent("account", "read before the clear", T0.AddMinutes(1), beforeClear));
        // Read before more removals than the map remembers: whether its key was among them is not known.
        Assert.False(map.PutIfCurrent("account", "read long ago", T0.AddMinutes(1), afterClear));
        Assert.False(map.TryGet("account", T0, out _));
        Assert.True(map.PutIfCurrent("account", "read recently", T0.AddMinutes(1), recent));
        Assert.True(map.TryGet("account", T0, out var kept));
        Assert.Equal("read recently", kept);
    }
}
