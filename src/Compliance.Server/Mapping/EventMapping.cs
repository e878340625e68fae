using Compliance.Domain.Events;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Mapping;

/// <summary>Maps a checked contract event onto what the domain judges (<see cref="ReportedEvent"/>).</summary>
internal static class EventMapping
{
    /// <summary>The event's facts by its kind; <paramref name="e"/> is checked (times, enums, bounds) before.</summary>
    public static ReportedEvent ToDomain(V1.Event e, EventKind kind, DateTimeOffset at, Channel channel, string callId, bool imported)
    {
        var reported = new ReportedEvent(kind, e.EventId, at, channel, PurposeOf(e), e.DecisionId, callId, imported);
        return e.KindCase switch
        {
            V1.Event.KindOneofCase.MessageSent => reported with
            {
                Text = e.MessageSent.Body,
                Subject = e.MessageSent.Subject.Length > 0 ? e.MessageSent.Subject : null,
            },
            V1.Event.KindOneofCase.VoicemailLeft => reported with { Text = e.VoicemailLeft.Transcript },
            V1.Event.KindOneofCase.CallConnected => reported with { Conversation = e.CallConnected.Conversation },
            V1.Event.KindOneofCase.CallEnded => reported with
            {
                Text = e.CallEnded.Transcript,
                Ended = OutcomeOf(e.CallEnded.Outcome),
                DurationMs = (long)(e.CallEnded.Duration?.ToTimeSpan().TotalMilliseconds ?? 0),
            },
            V1.Event.KindOneofCase.InboundCall => reported with
            {
                Text = e.InboundCall.Transcript,
                Conversation = e.InboundCall.Conversation,
                DurationMs = (long)(e.InboundCall.Duration?.ToTimeSpan().TotalMilliseconds ?? 0),
            },
            V1.Event.KindOneofCase.Refusal => reported with { PartyId = e.Refusal.PartyId, Note = e.Refusal.Note },
            V1.Event.KindOneofCase.ConsumerRequest => reported with
            {
                Request = (ConsumerRequestType)e.ConsumerRequest.Type,
                RequestChannel = (Channel)e.ConsumerRequest.OptOutChannel,
                Note = e.ConsumerRequest.Note,
                Source = (int)e.ConsumerRequest.WrongNumberSource,
                WindowFrom = e.ConsumerRequest.Type == V1.ConsumerRequestType.ConsentToCalls ? Proto.ToInstant(e.ConsumerRequest.ConsentWindowStart) : null,
                WindowTo = e.ConsumerRequest.Type == V1.ConsumerRequestType.ConsentToCalls ? Proto.ToInstant(e.ConsumerRequest.ConsentWindowEnd) : null,
            },
            V1.Event.KindOneofCase.ValidationNoticeSent => reported with
            {
                Note = e.ValidationNoticeSent.Note,
                Source = (int)e.ValidationNoticeSent.Delivery,
            },
            _ => reported,
        };
    }

    /// <summary>How an ended call went, or null where the event does not say (the call keeps the outcome it has).</summary>
    private static AttemptOutcome? OutcomeOf(V1.CallOutcome outcome) => outcome switch
    {
        V1.CallOutcome.Conversation => AttemptOutcome.Conversation,
        V1.CallOutcome.AnsweredNoConversation => AttemptOutcome.AnsweredNoConversation,
        V1.CallOutcome.NoAnswer => AttemptOutcome.NoAnswer,
        V1.CallOutcome.Voicemail => AttemptOutcome.Voicemail,
        V1.CallOutcome.Rejected => AttemptOutcome.Rejected,
        V1.CallOutcome.Busy or V1.CallOutcome.NotInService => AttemptOutcome.NotConnected,
        _ => null,
    };

    private static ContactPurpose PurposeOf(V1.Event e) =>
        e.Purpose == V1.ContactPurpose.Unspecified ? ContactPurpose.CollectDebt : (ContactPurpose)e.Purpose;
}
