namespace Compliance.Domain.Reports;

/// <summary>Which report: the three scheduled period reports, or one asked for on request.</summary>
public enum ReportKind
{
    Unspecified = 0,
    Daily = 1,
    Weekly = 2,
    Monthly = 3,
    Period = 4,
    ExaminerExport = 5,
    SafeHarbor = 6,
}

/// <summary>
/// A report's period: [Start, End) as instants, and the local dates it covers in the zone it was counted in. Days,
/// weeks (Monday to Sunday) and months are calendar periods of the lender's reporting zone, so a day across a
/// daylight-saving change lasts 23 or 25 hours.
/// </summary>
public sealed record ReportPeriod(ReportKind Kind, DateTimeOffset Start, DateTimeOffset End, DateOnly FirstDay, DateOnly LastDay, string TimeZone)
{
    public static bool IsScheduled(ReportKind kind) => kind is ReportKind.Daily or ReportKind.Weekly or ReportKind.Monthly;

    /// <summary>The day, week or month containing <paramref name="instant"/> in <paramref name="zone"/>.</summary>
    public static ReportPeriod Containing(ReportKind kind, DateTimeOffset instant, TimeZoneInfo zone)
    {
        var local = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, zone).DateTime);
        var first = kind switch
        {
            ReportKind.Daily => local,
            ReportKind.Weekly => local.AddDays(-(((int)local.DayOfWeek + 6) % 7)),
            ReportKind.Monthly => new DateOnly(local.Year, local.Month, 1),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only daily, weekly and monthly reports have calendar periods."),
        };
        return Of(kind, first, zone);
    }

    /// <summary>The calendar period of <paramref name="kind"/> that starts on <paramref name="first"/>.</summary>
    public static ReportPeriod Of(ReportKind kind, DateOnly first, TimeZoneInfo zone)
    {
        var next = kind switch
        {
            ReportKind.Daily => first.AddDays(1),
            ReportKind.Weekly => first.AddDays(7),
            ReportKind.Monthly => first.AddMonths(1),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only daily, weekly and monthly reports have calendar periods."),
        };
        return new ReportPeriod(kind, StartOfDay(first, zone), StartOfDay(next, zone), first, next.AddDays(-1), zone.Id);
    }

    /// <summary>A period on request, [start, end); its days are the local dates it touches.</summary>
    public static ReportPeriod Between(ReportKind kind, DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone) =>
        new(kind, start, end, DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(start, zone).DateTime),
            DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(end.AddTicks(-1), zone).DateTime), zone.Id);

    /// <summary>The period of the same kind that follows this one.</summary>
    public ReportPeriod Next(TimeZoneInfo zone) => Of(Kind, Kind == ReportKind.Monthly ? FirstDay.AddMonths(1) : LastDay.AddDays(1), zone);

    /// <summary>The period of the same kind before this one.</summary>
    public ReportPeriod Previous(TimeZoneInfo zone) => Of(Kind, Kind switch
    {
        ReportKind.Daily => FirstDay.AddDays(-1),
        ReportKind.Weekly => FirstDay.AddDays(-7),
        _ => FirstDay.AddMonths(-1),
    }, zone);

    /// <summary>A short name of the period: 2026-12-05, 2026-W49 (the week's Monday 2026-11-30), 2026-11.</summary>
    public string Label => Kind switch
    {
        ReportKind.Daily => FirstDay.ToString("yyyy-MM-dd"),
        ReportKind.Weekly => $"{FirstDay:yyyy-MM-dd} to {LastDay:yyyy-MM-dd}",
        ReportKind.Monthly => FirstDay.ToString("yyyy-MM"),
        _ => $"{Start:yyyy-MM-dd HH:mm}Z to {End:yyyy-MM-dd HH:mm}Z",
    };

    /// <summary>
    /// The period cut into the buckets of its series: local hours (a daily report) or local days, each [From, To) within
    /// the period and named by its local hour ("13:00") or date ("2026-11-05"). An hour repeated when the clocks go back
    /// comes twice under one name.
    /// </summary>
    public IEnumerable<ReportBucket> Buckets(TimeZoneInfo zone, bool hourly)
    {
        for (var at = Start; at < End;)
        {
            var local = TimeZoneInfo.ConvertTime(at, zone);
            DateTimeOffset next;
            string label;
            if (hourly)
            {
                next = at - (local.TimeOfDay - TimeSpan.FromHours(local.Hour)) + TimeSpan.FromHours(1);
                label = local.ToString("HH:00", System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                var day = DateOnly.FromDateTime(local.DateTime);
                next = StartOfDay(day.AddDays(1), zone);
                label = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            }

            // A zone whose rules make the next start fall at or before this one still moves on.
            var to = next <= at ? at + TimeSpan.FromHours(1) : next < End ? next : End;
            to = to < End ? to : End;
            yield return new ReportBucket(label, at, to);
            at = to;
        }
    }

    /// <summary>The first instant of a local date (the instant after a gap when midnight does not exist that day).</summary>
    public static DateTimeOffset StartOfDay(DateOnly day, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(TimeOnly.MinValue);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(15);
        }

        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}

/// <summary>One bucket of a report's series: its name and its instants [From, To).</summary>
public sealed record ReportBucket(string Label, DateTimeOffset From, DateTimeOffset To);
