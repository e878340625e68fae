using Google.Protobuf.WellKnownTypes;

namespace Compliance.Server.Mapping;

/// <summary>Time conversions shared by every mapper.</summary>
internal static class Proto
{
    public static Timestamp? Time(DateTimeOffset? t) => t is { } v ? Timestamp.FromDateTimeOffset(v) : null;

    public static Timestamp Time(DateTimeOffset t) => Timestamp.FromDateTimeOffset(t);

    /// <summary>Incoming times, truncated to the stores' precision (milliseconds).</summary>
    public static DateTimeOffset? Time(Timestamp? t) => t is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(t.ToDateTimeOffset().ToUnixTimeMilliseconds());
}
