using Compliance.Domain.Reports;

namespace Compliance.Domain.Tests.Reports;

/// <summary>Report periods are calendar days, Monday-to-Sunday weeks and months of the lender's reporting zone.</summary>
public sealed class ReportPeriodTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly TimeZoneInfo Shanghai = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");

    public static TheoryData<ReportKind, string, string, string, string, string> Periods => new()
    {
        // kind, instant, zone, first day, start (UTC), end (UTC)
        { ReportKind.Daily, "2026-11-27T13:59:00Z", "America/New_York", "2026-11-27", "2026-11-27T05:00:00Z", "2026-11-28T05:00:00Z" },
        // 01:30 UTC on the 28th is still the 27th in New York.
        { ReportKind.Daily, "2026-11-28T01:30:00Z", "America/New_York", "2026-11-27", "2026-11-27T05:00:00Z", "2026-11-28T05:00:00Z" },
        // The day clocks go back lasts 25 hours.
        { ReportKind.Daily, "2026-11-01T12:00:00Z", "America/New_York", "2026-11-01", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z" },
        { ReportKind.Daily, "2026-11-27T17:00:00Z", "Asia/Shanghai", "2026-11-28", "2026-11-27T16:00:00Z", "2026-11-28T16:00:00Z" },
        // Friday the 27th lies in the week from Monday the 23rd.
        { ReportKind.Weekly, "2026-11-27T13:59:00Z", "America/New_York", "2026-11-23", "2026-11-23T05:00:00Z", "2026-11-30T05:00:00Z" },
        // A Sunday belongs to the week before it.
        { ReportKind.Weekly, "2026-11-29T20:00:00Z", "America/New_York", "2026-11-23", "2026-11-23T05:00:00Z", "2026-11-30T05:00:00Z" },
        { ReportKind.Monthly, "2026-11-27T13:59:00Z", "America/New_York", "2026-11-01", "2026-11-01T04:00:00Z", "2026-12-01T05:00:00Z" },
        { ReportKind.Monthly, "2026-02-10T00:00:00Z", "Asia/Shanghai", "2026-02-01", "2026-01-31T16:00:00Z", "2026-02-28T16:00:00Z" },
    };

    [Theory]
    [MemberData(nameof(Periods))]
    public void Containing_IsTheCalendarPeriodOfTheZone(ReportKind kind, string instant, string zone, string firstDay, string start, string end)
    {
        var period = ReportPeriod.Containing(kind, DateTimeOffset.Parse(instant), TimeZoneInfo.FindSystemTimeZoneById(zone));

        Assert.Equal((firstDay, DateTimeOffset.Parse(start), DateTimeOffset.Parse(end)), (period.FirstDay.ToString("yyyy-MM-dd"), period.Start, period.End));
    }

    [Fact]
    public void NextAndPrevious_TileTheCalendarWithoutGaps()
    {
        var month = ReportPeriod.Containing(ReportKind.Monthly, DateTimeOffset.Parse("2026-01-31T12:00:00Z"), Shanghai);
        var week = ReportPeriod.Containing(ReportKind.Weekly, DateTimeOffset.Parse("2026-03-09T12:00:00Z"), NewYork);

        Assert.Equal(month.End, month.Next(Shanghai).Start);
        Assert.Equal("2026-02-28", month.Next(Shanghai).LastDay.ToString("yyyy-MM-dd"));
        Assert.Equal(week.Start, week.Previous(NewYork).End);
        // The week the clocks go forward is an hour short.
        Assert.Equal(TimeSpan.FromHours(167), week.Previous(NewYork).End - week.Previous(NewYork).Start);
    }
}
