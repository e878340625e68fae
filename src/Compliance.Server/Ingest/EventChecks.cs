using Compliance.Domain.Events;
using Compliance.Domain.Registry;
using Compliance.Server.Configuration;
using Compliance.Server.Mapping;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Ingest;

/// <summary>Why an event is refused: the field and the reason.</summary>
internal sealed class EventRejected(string field, string reason) : Exception(reason)
{
    public string Field { get; } = field;
}

/// <summary>
/// The contract's checks of one streamed event, before anything is looked up or judged: ids, kind, times (against the
/// late-arrival and import windows), the channel a kind allows, call ids, durations, a consent's window, enums, notes.
/// A refusal names the field relative to the request (<c>events[3].occurred_at</c>), built only when refused.
/// </summary>
internal static class EventChecks
{
    private const long MinSeconds = -62_135_596_800; // 0001-01-01
    private const long MaxSeconds = 253_402_300_799; // 9999-12-31
    private const int MaxNoteLength = 2000;

    /// <summary>The ids, the kind, the time and the channel.</summary>
    public static (EventKind Kind, DateTimeOffset At, Channel Channel) Head(PendingEvent pending, DateTimeOffset now, IngestOptions options)
    {
        var e = pending.Event;
        Id(e.EventId, pending, "event_id");
        Id(e.AccountId, pending, "account_id");
        if (e.DecisionId.Length > 0)
        {
            Id(e.DecisionId, pending, "decision_id");
        }

        var kind = e.KindCase switch
        {
            V1.Event.KindOneofCase.CallPlaced => EventKind.CallPlaced,
            V1.Event.KindOneofCase.CallConnected => EventKind.CallConnected,
            V1.Event.KindOneofCase.CallEnded => EventKind.CallEnded,
            V1.Event.KindOneofCase.MessageSent => EventKind.MessageSent,
            V1.Event.KindOneofCase.VoicemailLeft => EventKind.VoicemailLeft,
            V1.Event.KindOneofCase.Visit => EventKind.Visit,
            V1.Event.KindOneofCase.Refusal => EventKind.Refusal,
            V1.Event.KindOneofCase.ConsumerRequest => EventKind.ConsumerRequest,
            V1.Event.KindOneofCase.InboundCall => EventKind.InboundCall,
            V1.Event.KindOneofCase.ValidationNoticeSent => EventKind.ValidationNoticeSent,
            _ => throw new EventRejected($"{pending.Field}.kind", "one of call_placed, call_connected, call_ended, message_sent, voicemail_left, visit, refusal, consumer_request, inbound_call, validation_notice_sent is required"),
        };

        if (e.OccurredAt is null)
        {
            throw new EventRejected($"{pending.Field}.occurred_at", "is required");
        }

        if (e.OccurredAt.Nanos is < 0 or > 999_999_999 || e.OccurredAt.Seconds is < MinSeconds or > MaxSeconds)
        {
            throw new EventRejected($"{pending.Field}.occurred_at", "is not a valid timestamp");
        }

        var at = Proto.ToInstant(e.OccurredAt)!.Value;
        var window = pending.Imported ? options.ImportWindow : options.LateWindow;
        if (at > now + options.FutureSkew)
        {
            throw new EventRejected($"{pending.Field}.occurred_at", $"lies more than {options.FutureSkew} in the future");
        }

        if (at < now - window)
        {
            throw new EventRejected($"{pending.Field}.occurred_at", pending.Imported
                ? $"is older than the import window ({window.TotalDays:0} days)"
                : $"is older than the late-arrival window ({window.TotalDays:0} days); load older events with ImportHistory");
        }

        return (kind, at, ChannelOf(kind, e, pending));
    }

    /// <summary>The kind's own fields, once the account and collector are found; returns the call id (empty when none).</summary>
    public static string Body(PendingEvent pending, DateTimeOffset at)
    {
        var e = pending.Event;
        var callId = e.KindCase switch
        {
            V1.Event.KindOneofCase.CallPlaced => e.CallPlaced.CallId,
            V1.Event.KindOneofCase.CallConnected => e.CallConnected.CallId,
            V1.Event.KindOneofCase.CallEnded => e.CallEnded.CallId,
            V1.Event.KindOneofCase.VoicemailLeft => e.VoicemailLeft.CallId,
            V1.Event.KindOneofCase.InboundCall => e.InboundCall.CallId,
            _ => "",
        };
        var callField = e.KindCase switch
        {
            V1.Event.KindOneofCase.CallPlaced => "call_placed.call_id",
            V1.Event.KindOneofCase.CallConnected => "call_connected.call_id",
            V1.Event.KindOneofCase.CallEnded => "call_ended.call_id",
            V1.Event.KindOneofCase.InboundCall => "inbound_call.call_id",
            _ => "voicemail_left.call_id",
        };
        if (e.KindCase is V1.Event.KindOneofCase.CallConnected or V1.Event.KindOneofCase.CallEnded && callId.Length == 0)
        {
            throw new EventRejected($"{pending.Field}.{callField}", "is required to join the call's events");
        }

        if (callId.Length > 0)
        {
            Id(callId, pending, callField);
        }

        var (durationField, callDuration) = e.KindCase switch
        {
            V1.Event.KindOneofCase.CallEnded => ("call_ended.duration", e.CallEnded.Duration),
            V1.Event.KindOneofCase.InboundCall => ("inbound_call.duration", e.InboundCall.Duration),
            _ => ("", null),
        };
        if (callDuration is { } duration
            && (duration.Seconds < 0 || duration.Nanos is < 0 or > 999_999_999 || duration.Seconds > 7 * 24 * 3600))
        {
            throw new EventRejected($"{pending.Field}.{durationField}", "must be between zero and seven days");
        }

        if (e.KindCase == V1.Event.KindOneofCase.ConsumerRequest && e.ConsumerRequest.Type == V1.ConsumerRequestType.ConsentToCalls)
        {
            if (!Proto.IsValid(e.ConsumerRequest.ConsentWindowStart) || !Proto.IsValid(e.ConsumerRequest.ConsentWindowEnd))
            {
                throw new EventRejected($"{pending.Field}.consumer_request.{(Proto.IsValid(e.ConsumerRequest.ConsentWindowStart) ? "consent_window_end" : "consent_window_start")}", Proto.TimeRule);
            }

            var (start, end) = (Proto.ToInstant(e.ConsumerRequest.ConsentWindowStart), Proto.ToInstant(e.ConsumerRequest.ConsentWindowEnd));
            if (start < at)
            {
                throw new EventRejected($"{pending.Field}.consumer_request.consent_window_start", "must not be before occurred_at (when consent was given)");
            }

            if (end <= (start ?? at))
            {
                throw new EventRejected($"{pending.Field}.consumer_request.consent_window_end", "must be after the window's start");
            }
        }

        if (e.KindCase == V1.Event.KindOneofCase.ConsumerRequest && !Enum.IsDefined(e.ConsumerRequest.WrongNumberSource))
        {
            throw new EventRejected($"{pending.Field}.consumer_request.wrong_number_source", "is not a known WrongNumberSource");
        }

        if (e.KindCase == V1.Event.KindOneofCase.ValidationNoticeSent && !Enum.IsDefined(e.ValidationNoticeSent.Delivery))
        {
            throw new EventRejected($"{pending.Field}.validation_notice_sent.delivery", "is not a known ValidationDelivery");
        }

        var note = e.KindCase switch
        {
            V1.Event.KindOneofCase.Refusal => ("refusal.note", e.Refusal.Note),
            V1.Event.KindOneofCase.ConsumerRequest => ("consumer_request.note", e.ConsumerRequest.Note),
            V1.Event.KindOneofCase.ValidationNoticeSent => ("validation_notice_sent.note", e.ValidationNoticeSent.Note),
            _ => ("", ""),
        };
        if (note.Item2.Length > MaxNoteLength)
        {
            throw new EventRejected($"{pending.Field}.{note.Item1}", $"must be at most {MaxNoteLength} characters");
        }

        return callId;
    }

    private static Channel ChannelOf(EventKind kind, V1.Event e, PendingEvent pending)
    {
        var channel = (Channel)e.Channel;
        return kind switch
        {
            EventKind.CallPlaced or EventKind.CallConnected or EventKind.CallEnded or EventKind.VoicemailLeft =>
                channel is Channel.Unspecified or Channel.VoiceCall ? Channel.VoiceCall : throw new EventRejected($"{pending.Field}.channel", "call events use CHANNEL_VOICE_CALL"),
            EventKind.Visit => channel is Channel.Unspecified or Channel.Visit ? Channel.Visit : throw new EventRejected($"{pending.Field}.channel", "visits use CHANNEL_VISIT"),
            EventKind.InboundCall => channel is Channel.Unspecified or Channel.VoiceCall ? Channel.VoiceCall : throw new EventRejected($"{pending.Field}.channel", "inbound calls use CHANNEL_VOICE_CALL"),
            EventKind.MessageSent => channel is Channel.Sms or Channel.Email or Channel.InstantMessage or Channel.Letter
                ? channel
                : throw new EventRejected($"{pending.Field}.channel", "message_sent needs CHANNEL_SMS, CHANNEL_EMAIL, CHANNEL_INSTANT_MESSAGE or CHANNEL_LETTER"),
            _ => channel,
        };
    }

    /// <summary>Checks an id; the field's name ("events[3].account_id") is built only when it is refused.</summary>
    public static void Id(string value, PendingEvent pending, string suffix)
    {
        if (Validate.IdProblem(value) is { } problem)
        {
            throw new EventRejected($"{pending.Field}.{suffix}", problem);
        }
    }
}
