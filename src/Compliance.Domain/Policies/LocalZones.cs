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

    /// <summary>
    /// The zones in which the gate checks local-time rules. For the consumer (own or related destinations): the
    /// account's zone, else its region's zones, else the destination's zones, else the country's zones. For
    /// third parties the destination's own zones come first. Falls back to UTC when nothing is known.
    /// </summary>
    public static TimeZoneInfo[] For(Account account, ResolvedDestination destination)
    {
        var location = account.Location;
        var destinationZones = destination.TimeZones;
        if (destination.Class is DestinationClass.UnrelatedParty or DestinationClass.Unknown or DestinationClass.Unspecified
            && destinationZones.Count > 0 && FromList(destinationZones) is { Length: > 0 } theirs)
        {
            return theirs;
        }

        if (location.TimeZone.Length > 0 && Resolve(location.TimeZone) is { Length: > 0 } own)
        {
            return own;
        }

        if (location.Region.Length > 0 && Resolve("@" + location.Region) is { Length: > 0 } region)
        {
            return region;
        }

        if (destinationZones.Count > 0 && FromList(destinationZones) is { Length: > 0 } phone)
        {
            return phone;
        }

        if (location.CountryCode.Length > 0 && Resolve("@" + location.CountryCode) is { Length: > 0 } country)
        {
            return country;
        }

        return Utc;
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
