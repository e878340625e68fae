using System.Collections.Concurrent;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Policies;

/// <summary>
/// The time zone(s) a person may be in, and conversions between local wall-clock time and instants.
/// Zone lookups are cached: the gate must not search the system's zone database on every call.
/// </summary>
public static class LocalZones
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo[]> Cache = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Lazy<IReadOnlyDictionary<string, string[]>> Table = new(LoadTable);
    private static readonly TimeZoneInfo[] Utc = [TimeZoneInfo.Utc];

    /// <summary>Every region and country the zone table lists.</summary>
    public static IReadOnlyCollection<string> Regions => Table.Value.Keys.ToArray();

    /// <summary>The IANA zones listed for a region ("US-TX") or country ("CN"), empty when unknown.</summary>
    public static IReadOnlyList<string> ForRegion(string regionOrCountry) =>
        Table.Value.TryGetValue(regionOrCountry, out var zones) ? zones : [];

    /// <summary>The zones in which the gate checks local-time rules (<see cref="Indicators"/>, without the reasons).</summary>
    public static TimeZoneInfo[] For(Account account, ResolvedDestination destination) => Indicators(account, destination).Zones;

    /// <summary>
    /// Every zone the person contacted may be in, each with the indicator that gave it (12 CFR 1006.6(b)(1)(i) and
    /// comment 6(b)(1)(i)-2: where the collector's information suggests several locations, a time is convenient only
    /// if it is convenient in all of them). For the consumer (own or related destinations): a zone the consumer
    /// confirmed (<see cref="Location.TimeZoneConfirmed"/>) alone; otherwise all of the destination's zones (first, so
    /// that a window reads in the zone of the number called), the account's zone, the region's zones and the zones of
    /// each of the consumer's numbers; the country's zones when none of
    /// these is known. For a third party its own number's zones, else the consumer's. UTC when nothing is known.
    /// </summary>
    public static ZoneSet Indicators(Account account, ResolvedDestination destination)
    {
        var location = account.Location;
        var found = new List<(TimeZoneInfo Zone, ZoneIndicator Indicator)>();
        if (destination.Class is DestinationClass.UnrelatedParty or DestinationClass.Unknown or DestinationClass.Unspecified
            && destination.TimeZones.Count > 0)
        {
            Add(found, FromList(destination.TimeZones), ZoneSource.Destination, destination.ContactPoint?.ContactPointId ?? "");
            if (found.Count > 0)
            {
                return ZoneSet.Of(found);
            }
        }

        if (location.TimeZone.Length > 0 && location.TimeZoneConfirmed)
        {
            Add(found, Resolve(location.TimeZone), ZoneSource.ConfirmedAccountZone, "");
            if (found.Count > 0)
            {
                return ZoneSet.Of(found);
            }
        }

        // The number called comes first, so that the effective window reads in its zone.
        if (destination.TimeZones.Count > 0)
        {
            Add(found, FromList(destination.TimeZones), ZoneSource.Destination, destination.ContactPoint?.ContactPointId ?? "");
        }

        if (location.TimeZone.Length > 0)
        {
            Add(found, Resolve(location.TimeZone), ZoneSource.AccountZone, "");
        }

        if (location.Region.Length > 0)
        {
            Add(found, Resolve("@" + location.Region), ZoneSource.Region, location.Region);
        }

        foreach (var point in account.ContactPoints)
        {
            if (point.TimeZones.Count > 0 && !point.Invalid)
            {
                Add(found, FromList(point.TimeZones), ZoneSource.ContactPoint, point.ContactPointId);
            }
        }

        if (found.Count == 0 && location.CountryCode.Length > 0)
        {
            Add(found, Resolve("@" + location.CountryCode), ZoneSource.Country, location.CountryCode);
        }

        if (found.Count == 0)
        {
            found.Add((TimeZoneInfo.Utc, new ZoneIndicator(TimeZoneInfo.Utc.Id, ZoneSource.Fallback, "")));
        }

        return ZoneSet.Of(found);
    }

    /// <summary>Adds each zone not yet listed, with the indicator that gave it first.</summary>
    private static void Add(List<(TimeZoneInfo Zone, ZoneIndicator Indicator)> found, TimeZoneInfo[] zones, ZoneSource source, string detail)
    {
        foreach (var zone in zones)
        {
            if (!found.Exists(f => f.Zone.Equals(zone)))
            {
                found.Add((zone, new ZoneIndicator(zone.Id, source, detail)));
            }
        }
    }

    private static TimeZoneInfo[] FromList(IReadOnlyList<string> zones) =>
        zones.Count == 1 ? Resolve(zones[0]) : Resolve(string.Join(' ', zones));

    /// <summary>Resolves "Zone/Id", "Zone/A Zone/B" or "@REGION" to zones, caching the answer.</summary>
    private static TimeZoneInfo[] Resolve(string key) => Cache.GetOrAdd(key, static k =>
    {
        var ids = k.StartsWith('@') ? (Table.Value.TryGetValue(k[1..], out var z) ? z : []) : k.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var zones = new List<TimeZoneInfo>(ids.Length);
        foreach (var id in ids)
        {
            if (TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) && !zones.Contains(zone))
            {
                zones.Add(zone);
            }
        }

        return zones.ToArray();
    });

    /// <summary>
    /// The instant at which the clock in <paramref name="zone"/> shows <paramref name="local"/>. A time skipped by
    /// a DST gap maps to the instant the clock would have shown it had it not jumped (so 02:30 on a spring-forward
    /// day becomes 03:30); a repeated time maps to its first occurrence.
    /// </summary>
    public static DateTimeOffset ToInstant(TimeZoneInfo zone, DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            var before = zone.GetUtcOffset(local.AddHours(-6));
            return new DateTimeOffset(local.Ticks - before.Ticks, TimeSpan.Zero);
        }

        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }

    /// <summary>The local wall-clock time of an instant.</summary>
    public static DateTime ToLocal(TimeZoneInfo zone, DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, zone).DateTime;

    /// <summary>The instant the local day <paramref name="date"/> begins.</summary>
    public static DateTimeOffset StartOfDay(TimeZoneInfo zone, DateOnly date) =>
        ToInstant(zone, date.ToDateTime(TimeOnly.MinValue));

    /// <summary>ISO weekday: Monday 1 .. Sunday 7.</summary>
    public static int IsoWeekday(DateTime local) => local.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)local.DayOfWeek;

    private static Dictionary<string, string[]> LoadTable()
    {
        var table = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        var assembly = typeof(LocalZones).Assembly;
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(".Data.zones.csv", StringComparison.Ordinal));
        using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var comma = line.IndexOf(',', StringComparison.Ordinal);
            table[line[..comma].Trim()] = line[(comma + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }

        return table;
    }
}

/// <summary>What says that a person may be in a zone.</summary>
public enum ZoneSource
{
    Unspecified = 0,
    /// <summary>The zone recorded on the account: one indicator among the others.</summary>
    AccountZone = 1,
    /// <summary>The zone recorded on the account, which the consumer confirmed: the only zone.</summary>
    ConfirmedAccountZone = 2,
    /// <summary>One of the zones of the address's region (a state with two zones gives both).</summary>
    Region = 3,
    /// <summary>One of the zones of one of the consumer's own numbers.</summary>
    ContactPoint = 4,
    /// <summary>One of the zones of the number contacted.</summary>
    Destination = 5,
    /// <summary>One of the zones of the country, when nothing narrower is known.</summary>
    Country = 6,
    /// <summary>Nothing is known: UTC.</summary>
    Fallback = 7,
}

/// <summary>A zone the person may be in, and the indicator that gave it (<see cref="Detail"/>: the region, or the contact point's id).</summary>
public sealed record ZoneIndicator(string Zone, ZoneSource Source, string Detail);

/// <summary>The zones a person may be in, in order, with their indicators.</summary>
public sealed record ZoneSet(TimeZoneInfo[] Zones, IReadOnlyList<ZoneIndicator> Indicators)
{
    internal static ZoneSet Of(List<(TimeZoneInfo Zone, ZoneIndicator Indicator)> found) =>
        new(found.Select(f => f.Zone).ToArray(), found.Select(f => f.Indicator).ToArray());
}
