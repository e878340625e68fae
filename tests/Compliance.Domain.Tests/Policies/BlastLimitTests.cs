using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Tests.Policies;

/// <summary>
/// The ingest's search for address-book blasts: the windows (end - 24 h, end] holding one of the batch's new contacts
/// and more than three distinct third parties, the first of them and then each next one that does not overlap the
/// last. Each case lists the account's third-party attempts as "hours after T0, who"; the batch's new contacts are
/// marked with a star. The expected windows are "end: who is in it", separated by " | ".
/// </summary>
public sealed class BlastLimitTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly BlastLimit Limit = new("BASE.address-book-blast", "BASE", "Lender policy", Severity.Critical, false, 3, TimeSpan.FromHours(24));

    public static TheoryData<string, string, string?> Cases() => new()
    {
        { "three third parties are within the limit", "0 a*, 1 b*, 2 c*", null },
        { "the fourth makes a blast", "0 a, 1 b, 2 c, 3 d*", "3: a b c d" },
        { "a number reached twice counts once", "0 a, 1 b, 2 a, 3 c*", null },
        { "a contact exactly a window earlier has left it", "0 a, 1 b, 2 c, 24 d*", null },
        { "a late contact completes a blast with later ones", "1 b, 2 c, 3 d, 0 a*", "3: a b c d" },
        { "a blast long before the new contact is not its window", "0 a, 1 b, 2 c, 3 d, 40 e*", null },
        { "attempts at one instant are all in its window", "0 a, 5 b*, 5 c, 5 d", "5: a b c d" },
        { "a registered party counts once whichever number was used", "0 p1:x, 1 p1:y, 2 c, 3 d*", null },
        { "calls that never reached the network do not count", "0 a!, 1 b, 2 c, 3 d*", null },
        { "a window overlapping a blast's window is the same blast", "0 a*, 1 b*, 2 c*, 3 d*, 4 e*, 26 f*", "3: a b c d" },
        { "two blasts a day apart are two", "0 a*, 1 b*, 2 c*, 3 d*, 40 e*, 41 f*, 42 g*, 43 h*", "3: a b c d | 43: e f g h" },
        { "an old blast and a new one in one batch are both found", "0 a, 1 b, 2 c, 3 d*, 30 e, 31 f, 32 g, 33 h*", "3: a b c d | 33: e f g h" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Blasts_AreTheWindowsOverTheLimit_WithANewContactInThem_OneWindowPerBlast(string name, string attempts, string? expected)
    {
        var history = attempts.Split(", ").Select(Parse).ToList();
        var contacts = history.Where(h => h.New).Select(h => h.Attempt.At).ToList();

        var blasts = Limit.Blasts(history, static h => h.Attempt, "A1", contacts);

        var actual = blasts.Count == 0 ? null : string.Join(" | ", blasts.Select(b =>
            $"{(b.End - T0).TotalHours:0}: {string.Join(' ', b.Counted.Select(h => h.Who).Order(StringComparer.Ordinal))}"));
        Assert.True(expected == actual, $"{name}: expected {expected ?? "none"}, got {actual ?? "none"}");
    }

    [Fact]
    public void OtherAccountsAndOwnNumbers_AreNotCounted()
    {
        List<Attempt> history =
        [
            Attempt(0, "a", "A2"), Attempt(1, "b", "A2"), Attempt(2, "c", "A2"),
            Attempt(2, "mobile", "A1", DestinationClass.Own), Attempt(2, "spouse", "A1", DestinationClass.RelatedParty),
            Attempt(3, "d", "A1"),
        ];

        Assert.Empty(Limit.Blasts(history, static a => a, "A1", [T0.AddHours(3)]));
    }

    private sealed record Entry(Attempt Attempt, string Who, bool New);

    /// <summary>"3 d*": at T0 + 3 h to number d, new in this batch; "0 p1:x": party p1 at its number x; "0 a!": not connected.</summary>
    private static Entry Parse(string text)
    {
        var (hours, who) = (int.Parse(text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture), text.Split(' ')[1]);
        var isNew = who.EndsWith('*');
        var notConnected = who.EndsWith('!');
        who = who.TrimEnd('*', '!');
        var (party, number) = who.Contains(':') ? (who.Split(':')[0], who.Split(':')[1]) : ("", who);
        var attempt = Attempt(hours, number, "A1", party.Length > 0 ? DestinationClass.UnrelatedParty : DestinationClass.Unknown, party,
            notConnected ? AttemptOutcome.NotConnected : AttemptOutcome.Delivered);
        return new Entry(attempt, who, isNew);
    }

    private static Attempt Attempt(int hours, string number, string account, DestinationClass destination = DestinationClass.Unknown, string party = "",
        AttemptOutcome outcome = AttemptOutcome.Delivered) =>
        new(T0.AddHours(hours), account, "C1", Channel.Sms, "hash-" + number, destination, party, ContactPointUse.Unspecified, ContactPurpose.PassMessage, outcome);
}
