namespace Compliance.Server.Infrastructure;

/// <summary>The system clock at the stores' precision (milliseconds), so an answer shows the time that was stored.</summary>
internal sealed class MillisecondClock : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(System.GetUtcNow().ToUnixTimeMilliseconds());
}
