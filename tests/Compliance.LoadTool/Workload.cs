using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.LoadTool;

/// <summary>A registered account of the run: its region decides the rules and the wording of its messages.</summary>
internal sealed record LoadAccount(string AccountId, string BorrowerId, string Region, string Phone)
{
    public bool InUnitedStates => Region.StartsWith("US-", StringComparison.Ordinal);

    public Account ToProto() => new()
    {
        AccountId = AccountId,
        BorrowerId = BorrowerId,
        BorrowerName = InUnitedStates ? "Jane Doe" : "张三",
        Location = new Location { CountryCode = Region[..2], Region = Region },
        ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = Phone } },
    };
}

/// <summary>
/// The events of one run, already cut into the batches each stream sends. Every account's events go over one
/// stream, in time order, so a call's end never overtakes its start. The mix is what a dialer and an SMS gateway
/// send: per account at most two calls (placed + ended), the rest text messages (in the realistic workload a US
/// account's validation notice first), all within the last hour (the dense
/// workload: few accounts, long histories, the worst case) or, in the realistic one, a few contacts each in the
/// daytime hours of the last week (many accounts, short histories). Within
/// the limits by design, except for planted violations: one US text in 200 lacks the opt-out notice, one text in
/// 1,000 threatens arrest, and one account in 499 has its first four texts go to four numbers from the borrower's
/// address book (an address-book blast: four third-party violations and one incident).
/// </summary>
internal sealed class Workload
{
    public const string Collector = "collector-1";
    private const int MissingOptOutEvery = 200;
    private const int ThreatEvery = 1000;
    // Prime, so that the blasts fall on accounts of every region.
    private const int BlastEvery = 499;
    private const int BlastSize = 4;

    /// <summary>The realistic workload spreads each borrower's contacts over this many days (the server is started with a late window a day longer).</summary>
    public const int RealisticDays = 7;

    /// <summary>An Authorize request for a call to the account's registered mobile, as a dialer asks before dialling.</summary>
    public static AuthorizeRequest AuthorizeCall(LoadAccount account) => new()
    {
        Contact = new ContactRequest
        {
            AccountId = account.AccountId,
            CollectorId = Collector,
            Channel = Channel.VoiceCall,
            Destination = new Destination { ContactPointId = "mobile" },
        },
    };

    private static readonly (string Region, string Zone, string Prefix)[] Places =
    [
        ("US-NY", "America/New_York", "+1 212 555 "),
        ("US-CA", "America/Los_Angeles", "+1 213 555 "),
        ("US-IL", "America/Chicago", "+1 312 555 "),
        ("US-TX", "America/Chicago", "+1 713 555 "),
        ("CN-GD", "Asia/Shanghai", "+86 138 "),
        ("CN-BJ", "Asia/Shanghai", "+86 139 "),
    ];

    private Workload(IReadOnlyList<LoadAccount> accounts, IReadOnlyList<StreamRequest[]> streams, IReadOnlyDictionary<string, DateTimeOffset> ends,
        int plantedViolations, IReadOnlySet<string> plantedBlasts)
    {
        Accounts = accounts;
        Streams = streams;
        Ends = ends;
        PlantedViolations = plantedViolations;
        PlantedBlasts = plantedBlasts;
    }

    /// <summary>Every account to register (US and CN).</summary>
    public IReadOnlyList<LoadAccount> Accounts { get; }

    /// <summary>Per stream, the requests in sending order.</summary>
    public IReadOnlyList<StreamRequest[]> Streams { get; }

    /// <summary>
    /// Per region, the dense workload's events happen in the hour before this: the last hour where that is daytime
    /// there, or else the latest earlier hour that is (the events then arrive late). The realistic workload's end at the
    /// run's start everywhere.
    /// </summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Ends { get; }

    /// <summary>How many events carry a planted violation.</summary>
    public int PlantedViolations { get; }

    /// <summary>The accounts whose texts went to four numbers of the borrower's address book: one incident each.</summary>
    public IReadOnlySet<string> PlantedBlasts { get; }

    public int EventCount => Streams.Sum(s => s.Sum(r => r.Events.Count));

    /// <summary>Accounts named "{name}-000000" on; warm-up accounts get numbers of their own (exchange 556, mobile prefixes 137 and 136).</summary>
    public static IReadOnlyList<LoadAccount> CreateAccounts(int count, string name = "load") =>
        Enumerable.Range(0, count).Select(i =>
        {
            var (region, _, prefix) = Places[i % Places.Length];
            if (name != "load")
            {
                prefix = prefix.Replace(" 555 ", " 556 ", StringComparison.Ordinal).Replace("+86 138 ", "+86 137 ", StringComparison.Ordinal)
                    .Replace("+86 139 ", "+86 136 ", StringComparison.Ordinal);
            }

            var phone = prefix.StartsWith("+86", StringComparison.Ordinal) ? $"{prefix}{i:D8}" : $"{prefix[..^4]}{Exchange(prefix, i)} {i % 10_000:D4}";
            return new LoadAccount($"{name}-{i:D6}", $"{name}-borrower-{i:D6}", region, phone);
        }).ToList();

    /// <summary>
    /// A US number's exchange: 555 (556 for warm-up accounts) for the first 10,000 accounts, then 200, 201, ... for each
    /// further 10,000, skipping 555, 556 and the N11 service codes, so a million accounts get a million numbers.
    /// </summary>
    private static string Exchange(string prefix, int i)
    {
        if (i < 10_000)
        {
            return prefix[^4..^1];
        }

        var exchange = 199;
        for (var block = i / 10_000; block > 0; block--)
        {
            do
            {
                exchange++;
            }
            while (exchange is 555 or 556 || exchange % 100 == 11);
        }

        return exchange.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public static Workload Create(IReadOnlyList<LoadAccount> accounts, LoadOptions options, DateTimeOffset now)
    {
        // The dense workload's events happen within an hour that is daytime where the borrower lives: the last hour,
        // or, in a region where that is night (every event would be an hours violation), the latest earlier hour that
        // is daytime there, so they arrive late (within the service's late window of two days), as a dialer's backlog
        // would. Every account gets its share at any hour of the day the run is made: the same density, and the
        // planted violations stay the only ones.
        var ends = Places.ToDictionary(p => p.Region, p =>
        {
            var end = now;
            while (!options.Realistic && !Daytime(p.Zone, end))
            {
                end = end.AddMinutes(-15);
            }

            return end;
        }, StringComparer.Ordinal);

        var random = new Random(20261127);
        var perStream = Enumerable.Range(0, options.Streams).Select(_ => new List<Event>()).ToArray();
        var messages = 0;
        var planted = 0;
        var blasts = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < accounts.Count; i++)
        {
            var account = accounts[i];
            var count = options.Events / accounts.Count + (i < options.Events % accounts.Count ? 1 : 0);
            var end = ends[account.Region];
            var times = Enumerable.Range(0, count).Select(_ => options.Realistic ? DaytimeInLastWeek(account, end, random) : end.AddSeconds(-60 - random.Next(3480)))
                .Order().ToArray();
            // Calls start at the first and the middle event and end with the next one.
            int[] callStarts = count >= 20 ? [0, count / 2] : count >= 6 ? [0] : [];
            var events = perStream[i % options.Streams];
            var blastTexts = i % BlastEvery == BlastEvery / 2 && count - callStarts.Length * 2 >= BlastSize ? BlastSize : 0;
            DateTimeOffset? blastAt = null;
            if (blastTexts > 0)
            {
                blasts.Add(account.AccountId);
                planted += blastTexts;
            }

            if (options.Realistic && account.InUnitedStates && count > 0)
            {
                // A lender sends the validation notice with or before its first contact about the debt (Regulation F);
                // without it every US account contacted over more than five days would be an incident.
                events.Add(ValidationNotice($"{account.AccountId}-notice", account, times[0].AddMinutes(-1)));
            }

            for (var n = 0; n < count; n++)
            {
                var id = $"{account.AccountId}-{n:D6}";
                var starting = Array.IndexOf(callStarts, n);
                var ending = Array.IndexOf(callStarts, n - 1);
                if (starting >= 0)
                {
                    events.Add(Placed(id, account, times[n], $"{account.AccountId}-call-{starting}"));
                }
                else if (ending >= 0)
                {
                    // Only the last call may be a conversation: after one, US rules forbid calls for 7 days.
                    var outcome = ending == callStarts.Length - 1 && i % 2 == 0 ? CallOutcome.Conversation : CallOutcome.NoAnswer;
                    // In the realistic workload the next contact may come days later: the call ends half a minute in.
                    var endedAt = options.Realistic ? times[n - 1].AddSeconds(30) : times[n];
                    events.Add(Ended(id, account, endedAt, $"{account.AccountId}-call-{ending}", outcome));
                }
                else if (blastTexts > 0)
                {
                    // The four texts go out within minutes, as a blast does: in the realistic workload the account's
                    // contacts are days apart, and four texts spread over a week are no blast (the limit counts a day).
                    blastAt ??= times[n];
                    events.Add(AddressBookText(id, account, blastAt.Value.AddMinutes(BlastSize - blastTexts), BlastSize - blastTexts));
                    blastTexts--;
                }
                else
                {
                    messages++;
                    var threat = messages % ThreatEvery == 0;
                    var noOptOut = account.InUnitedStates && messages % MissingOptOutEvery == 0;
                    planted += threat || noOptOut ? 1 : 0;
                    events.Add(Text(id, account, times[n], Body(account, threat, noOptOut)));
                }
            }
        }

        var streams = perStream
            .Select(events => events.OrderBy(e => e.OccurredAt.ToDateTimeOffset()).Chunk(options.Batch)
                .Select(chunk => new StreamRequest { Events = { chunk } }).ToArray())
            .ToList();
        return new Workload(accounts, streams, ends, planted, blasts);
    }

    /// <summary>
    /// The realistic workload's time of a contact: a moment of the last seven days between 09:00 and 20:00 where the
    /// borrower lives (within calling hours everywhere), at least a minute before the run starts.
    /// </summary>
    private static DateTimeOffset DaytimeInLastWeek(LoadAccount account, DateTimeOffset end, Random random)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(Places.First(p => p.Region == account.Region).Zone);
        while (true)
        {
            var day = TimeZoneInfo.ConvertTime(end, zone).Date.AddDays(-random.Next(RealisticDays));
            var local = day.AddHours(9).AddSeconds(random.Next(11 * 3600));
            var at = new DateTimeOffset(local, zone.GetUtcOffset(local));
            if (at < end.AddMinutes(-1) && at > end.AddDays(-RealisticDays))
            {
                return at;
            }
        }
    }

    /// <summary>The time zone the account's borrower lives in.</summary>
    public static TimeZoneInfo ZoneOf(LoadAccount account) => TimeZoneInfo.FindSystemTimeZoneById(Places.First(p => p.Region == account.Region).Zone);

    /// <summary>Whether it is daytime where the account is (within calling hours everywhere, with half an hour to spare).</summary>
    public static bool InDaytime(LoadAccount account, DateTimeOffset now) =>
        Daytime(Places.First(p => p.Region == account.Region).Zone, now.AddHours(1));

    /// <summary>
    /// The accounts the gate is asked about: US ones (Regulation F's seven calls in seven days gives a mix of allowed
    /// and denied), those where it is daytime now, so that the allowed decisions, which reserve, are measured too; at
    /// night in the US the Chinese ones, and only when it is night everywhere, the US ones all the same (all denied).
    /// </summary>
    public static List<LoadAccount> GateAccounts(IReadOnlyList<LoadAccount> accounts, DateTimeOffset now)
    {
        var daytime = accounts.Where(a => InDaytime(a, now)).ToList();
        var us = daytime.Where(a => a.InUnitedStates).ToList();
        return us.Count > 0 ? us : daytime.Count > 0 ? daytime : accounts.Where(a => a.InUnitedStates).ToList();
    }

    private static bool Daytime(string zoneId, DateTimeOffset now)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
        var from = TimeZoneInfo.ConvertTime(now.AddHours(-1), zone).TimeOfDay;
        var to = TimeZoneInfo.ConvertTime(now, zone).TimeOfDay;
        return from >= TimeSpan.FromHours(8.5) && to <= TimeSpan.FromHours(20.5) && from < to;
    }

    /// <summary>The validation notice (12 CFR 1006.34), sent by letter.</summary>
    public static Event ValidationNotice(string id, LoadAccount account, DateTimeOffset at) => new()
    {
        EventId = id,
        AccountId = account.AccountId,
        OccurredAt = Timestamp.FromDateTimeOffset(at),
        Channel = Channel.Letter,
        ValidationNoticeSent = new ValidationNoticeSent { Delivery = ValidationDelivery.Written, Note = "validation notice letter" },
    };

    private static Event Placed(string id, LoadAccount account, DateTimeOffset at, string callId) =>
        Base(id, account, at, Channel.VoiceCall, e => e.CallPlaced = new CallPlaced { CallId = callId });

    private static Event Ended(string id, LoadAccount account, DateTimeOffset at, string callId, CallOutcome outcome) =>
        Base(id, account, at, Channel.VoiceCall, e => e.CallEnded = new CallEnded
        {
            CallId = callId,
            Outcome = outcome,
            Duration = Duration.FromTimeSpan(TimeSpan.FromSeconds(outcome == CallOutcome.Conversation ? 180 : 25)),
        });

    private static Event Text(string id, LoadAccount account, DateTimeOffset at, string body) =>
        Base(id, account, at, Channel.Sms, e => e.MessageSent = new MessageSent { Body = body });

    /// <summary>A neutral text to the k-th number of the borrower's address book: registered nowhere, so a third party.</summary>
    private static Event AddressBookText(string id, LoadAccount account, DateTimeOffset at, int k)
    {
        var e = Text(id, account, at, account.InUnitedStates ? "Please ask Jane to call us back. Reply STOP to opt out." : "请转告张三给我们回电。");
        e.Destination = new Destination { PhoneNumber = account.InUnitedStates ? $"+1 646 555 01{k:00}" : $"+86 150 0000 01{k:00}" };
        e.Purpose = ContactPurpose.PassMessage;
        return e;
    }

    private static Event Base(string id, LoadAccount account, DateTimeOffset at, Channel channel, Action<Event> kind)
    {
        var e = new Event
        {
            EventId = id,
            AccountId = account.AccountId,
            CollectorId = Collector,
            OccurredAt = Timestamp.FromDateTimeOffset(at),
            Channel = channel,
            Destination = new Destination { ContactPointId = "mobile" },
            Purpose = ContactPurpose.CollectDebt,
        };
        kind(e);
        return e;
    }

    private static string Body(LoadAccount account, bool threat, bool noOptOut)
    {
        if (!account.InUnitedStates)
        {
            return threat
                ? "张先生，本期应还款1200元已逾期，今天不还后果自负。回复TD退订"
                : "您好，北方信贷提醒您：本期应还款1200元，请于12月1日前通过手机银行还款。回复TD退订";
        }

        var text = threat
            ? "Jane, your payment of $120.00 is overdue. Pay today or you will be arrested."
            : "Hi Jane, this is Northwind Credit. Your payment of $120.00 is due Dec 1. Pay online or call 800-555-0100.";
        return noOptOut ? text : text + " Reply STOP to opt out.";
    }
}
