using Compliance.Server.Infrastructure;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.Server.Mapping;

/// <summary>Time conversions shared by every mapper; incoming times are checked before use.</summary>
internal static class Proto
{
    /// <summary>The earliest instant a request may carry (times before the Unix epoch mean nothing here).</summary>
    public static readonly DateTimeOffset Earliest = DateTimeOffset.UnixEpoch;

    /// <summary>The first instant past the latest a request may carry: far enough for any due date, near enough that
    /// adding a year or a retention period never overflows.</summary>
    public static readonly DateTimeOffset Latest = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public const string TimeRule = "must be a valid timestamp between 1970-01-01 and 2200-01-01 UTC";

    public static Timestamp? Time(DateTimeOffset? t) => t is { } v ? Timestamp.FromDateTimeOffset(v) : null;

    public static Timestamp Time(DateTimeOffset t) => Timestamp.FromDateTimeOffset(t);

    /// <summary>An incoming time, truncated to the stores' precision (milliseconds); INVALID_ARGUMENT naming the field
    /// when it is out of range or malformed (negative nanos, seconds beyond year 9999).</summary>
    public static DateTimeOffset? Time(Timestamp? t, string field) =>
        IsValid(t) ? ToInstant(t) : throw RpcErrors.InvalidArgument(field, TimeRule);

    /// <summary>Whether an incoming time is absent or within <see cref="Earliest"/> and <see cref="Latest"/>.</summary>
    public static bool IsValid(Timestamp? t) =>
        t is null || (t.Nanos is >= 0 and <= 999_999_999 && t.Seconds >= Earliest.ToUnixTimeSeconds() && t.Seconds < Latest.ToUnixTimeSeconds());

    /// <summary>A time already checked by <see cref="IsValid"/>.</summary>
    public static DateTimeOffset? ToInstant(Timestamp? t) =>
        t is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(t.Seconds * 1000 + t.Nanos / 1_000_000);

    /// <summary>An incoming duration; INVALID_ARGUMENT naming the field when malformed (nanos of the wrong sign or range,
    /// seconds beyond protobuf's ±10,000 years).</summary>
    public static TimeSpan? Span(Duration? d, string field)
    {
        if (d is null)
        {
            return null;
        }

        var valid = d.Nanos is > -1_000_000_000 and < 1_000_000_000 && Math.Abs(d.Seconds) <= 315_576_000_000L
            && !(d.Seconds > 0 && d.Nanos < 0) && !(d.Seconds < 0 && d.Nanos > 0) && Math.Abs(d.Seconds) <= TimeSpan.MaxValue.TotalSeconds / 2;
        return valid ? d.ToTimeSpan() : throw RpcErrors.InvalidArgument(field, "must be a valid duration");
    }
}
