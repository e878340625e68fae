using Compliance.Domain.Policies;

namespace Compliance.Domain.Tests.Policies;

/// <summary>Local wall-clock time around DST changes, and the zone table.</summary>
public sealed class LocalZonesTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    [Fact]
    public void TimeSkippedBySpringForward_MapsToTheInstantAfterTheGap()
    {
        var instant = LocalZones.ToInstant(NewYork, new DateTime(2026, 3, 8, 2, 30, 0));

        Assert.Equal(new DateTimeOffset(2026, 3, 8, 3, 30, 0, TimeSpan.FromHours(-4)), instant);
    }

    [Fact]
    public void TimeRepeatedByFallBack_MapsToItsFirstOccurrence()
    {
        var instant = LocalZones.ToInstant(NewYork, new DateTime(2026, 11, 1, 1, 30, 0));

        Assert.Equal(new DateTimeOffset(2026, 11, 1, 1, 30, 0, TimeSpan.FromHours(-4)), instant);
    }

    [Fact]
    public void FallBackDay_Lasts25Hours()
    {
        var start = LocalZones.StartOfDay(NewYork, new DateOnly(2026, 11, 1));
        var end = LocalZones.StartOfDay(NewYork, new DateOnly(2026, 11, 2));

        Assert.Equal(TimeSpan.FromHours(25), end - start);
    }

    [Theory]
    [InlineData("US-TX", "America/Chicago America/Denver")]
    [InlineData("US-FL", "America/New_York America/Chicago")]
    [InlineData("US-MA", "America/New_York")]
    [InlineData("CN", "Asia/Shanghai")]
    [InlineData("IN", "Asia/Kolkata")]
    [InlineData("IE", "Europe/Dublin")]
    public void RegionTable_ListsEveryZoneOfTheRegion(string region, string zones)
    {
        Assert.Equal(zones.Split(' '), LocalZones.ForRegion(region));
    }

    [Fact]
    public void EveryZoneInTheTable_IsKnownToTheSystem()
    {
        Assert.Contains("US-WY", LocalZones.Regions);
        foreach (var region in LocalZones.Regions)
        {
            Assert.NotEmpty(LocalZones.ForRegion(region));
            Assert.All(LocalZones.ForRegion(region), id => Assert.True(TimeZoneInfo.TryFindSystemTimeZoneById(id, out _), $"{region}: {id}"));
        }
    }
}
