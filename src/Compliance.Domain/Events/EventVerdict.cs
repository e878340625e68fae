using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Events;

/// <summary>
/// What one event reports, as the contract's event maps onto the domain: the facts its verdict is judged from. A value
/// held with the checked event (no allocation of its own); the kind decides which of the kind's fields are filled.
/// </summary>
/// <param name="Text">A message's body or a call's transcript (empty when the event carried none), null for kinds without one.</param>
/// <param name="Subject">An e-mail's subject, null when it has none.</param>
/// <param name="Conversation">A connected call or a call-in: whether a conversation about the debt took place.</param>
/// <param name="Ended">How an ended call went, null when the event does not say (the call keeps its outcome).</param>
/// <param name="DurationMs">An ended call's or a call-in's duration.</param>
/// <param name="RequestChannel">The channel a consumer's request names (an opt-out's medium, consent's channel).</param>
/// <param name="Note">A refusal's, consumer request's or validation notice's note.</param>
/// <param name="PartyId">The party a refusal names.</param>
/// <param name="Source">As reported: a wrong number's <see cref="WrongNumberSource"/>, a validation notice's <see cref="ValidationDelivery"/>.</param>
/// <param name="WindowFrom">The start of the window a consent to calls names.</param>
/// <param name="WindowTo">The end of the window a consent to calls names.</param>
public readonly record struct ReportedEvent(
    EventKind Kind,
    string EventId,
    DateTimeOffset At,
    Channel Channel,
    ContactPurpose Purpose,
    string DecisionId,
    string CallId,
    bool Imported,
    string? Text = null,
    string? Subject = null,
    bool Conversation = false,
    AttemptOutcome? Ended = null,
    long DurationMs = 0,
    ConsumerRequestType Request = ConsumerRequestType.Unspecified,
    Channel RequestChannel = Channel.Unspecified,
    string Note = "",
    string PartyId = "",
    int Source = 0,
    DateTimeOffset? WindowFrom = null,
    DateTimeOffset? WindowTo = null);

/// <summary>
/// What the server looked up for an event before it is judged: the standing of the decision it quotes, its destination
/// as resolved against the account (with its masked form and use), and for a call's later event the call's attempt.
/// </summary>
public readonly record struct EventFacts(
    GateStanding Standing = GateStanding.NotAsked,
    ResolvedDestination? Destination = null,
    string Masked = "",
    ContactPointUse Use = ContactPointUse.Unspecified,
    Attempt? Call = null,
    string CallAttemptId = "")
{
    /// <summary>Nothing looked up (the struct's default would leave its strings null).</summary>
    public static readonly EventFacts None = new(GateStanding.NotAsked);
}

/// <summary>How an event changes its borrower's window.</summary>
public enum AttemptChange
{
    /// <summary>Not a contact: the window is unchanged.</summary>
    None = 0,

    /// <summary>
    /// A contact: <see cref="EventVerdict.Attempt"/> is added as the event's own attempt, or, where it quotes an allowed
    /// decision (<see cref="EventVerdict.Reservation"/>) whose reservation the store still holds pending, becomes that
    /// reservation (counted once, as the reservation).
    /// </summary>
    Add = 1,

    /// <summary>A call's later event: the call's attempt (<see cref="EventVerdict.AttemptId"/>) takes the event's outcome.</summary>
    UpdateCall = 2,
}

/// <summary>
/// Something a person must look at, found while judging: an address-book blast, a debt disclosed to an unknown number, a
/// validation notice late or missing. <see cref="OncePerDebt"/>: raised only where the debt has no incident of the rule
/// yet (the caller looks; <see cref="EventVerdict.Withdraw"/> takes back the finding and its violation where it has).
/// </summary>
public sealed record IncidentFinding(string RuleId, string Citation, Severity Severity, string AccountId, string CollectorId, string Summary,
    IReadOnlyList<string> EventIds, DateTimeOffset At, bool OncePerDebt = false)
{
    /// <summary>The violation the finding gave its event, if any.</summary>
    public Violation? Violation { get; init; }
}

/// <summary>
/// The monitor's answer to one event (<see cref="EventJudge.Judge{TRow}"/>, then <see cref="EventJudge.Conclude{TRow}"/>):
/// what it broke, how risky it was, its outcome, how it changes the borrower's window, the flag it sets and the incidents
/// it raises. The caller applies it: writes the attempt and the flag, raises the incidents, stores the event.
/// </summary>
public sealed class EventVerdict
{
    private List<IncidentFinding>? _incidents;
    private RiskWeights? _weights;

    /// <summary>Every violation in the order reported: the contact's, the validation notice's, the wording's.</summary>
    public List<Violation> Violations { get; } = [];

    /// <summary>0..100, from <see cref="Violations"/> by the policy's weights (set by <see cref="EventJudge.Conclude{TRow}"/>).</summary>
    public double RiskScore { get; private set; }

    public AttemptOutcome Outcome { get; internal set; }

    /// <summary>The destination as the event is recorded with (a number recorded as not the consumer's, as a stranger's), or null.</summary>
    public ResolvedDestination? Destination { get; internal set; }

    public ContactPointUse DestinationUse { get; internal set; }

    public AttemptChange Change { get; internal set; }

    /// <summary>The attempt to add or update (<see cref="Change"/>).</summary>
    public Attempt Attempt { get; internal set; }

    /// <summary>For <see cref="AttemptChange.UpdateCall"/>, the call's attempt id.</summary>
    public string AttemptId { get; internal set; } = "";

    /// <summary>For <see cref="AttemptChange.Add"/>, the allowed decision whose reservation the contact confirms, if it is still pending.</summary>
    public string? Reservation { get; internal set; }

    /// <summary>The flag the event sets, without its id (the store gives it one), or null.</summary>
    public Flag? Flag { get; internal set; }

    /// <summary>The profiles that judged the contact (null for events that are not contacts).</summary>
    public IReadOnlyList<string>? Profiles { get; internal set; }

    /// <summary>A contact with a third party, which address-book blast rules count (<see cref="EventJudge.Blasts{T}"/>).</summary>
    public bool ThirdPartyContact { get; internal set; }

    /// <summary>The incidents the event raises, in order.</summary>
    public IReadOnlyList<IncidentFinding> Incidents => _incidents ?? (IReadOnlyList<IncidentFinding>)[];

    internal void Raise(IncidentFinding finding) => (_incidents ??= []).Add(finding);

    internal void Score(RiskWeights weights)
    {
        _weights = weights;
        RiskScore = weights.Of(Violations);
    }

    /// <summary>
    /// Takes back a once-per-debt finding whose debt already has its incident: no incident, and its violation goes
    /// (the event that revealed it first carries it).
    /// </summary>
    public void Withdraw(IncidentFinding finding)
    {
        _incidents?.Remove(finding);
        if (finding.Violation is { } violation)
        {
            var index = Violations.FindIndex(v => ReferenceEquals(v, violation));
            if (index >= 0)
            {
                Violations.RemoveAt(index);
            }
        }

        if (_weights is { } weights)
        {
            RiskScore = weights.Of(Violations);
        }
    }
}
