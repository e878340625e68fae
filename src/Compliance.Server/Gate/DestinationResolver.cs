using Compliance.Domain.Contacts;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Server.Infrastructure;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Gate;

/// <summary>A destination the gate can reason about, with the masked form that decisions record.</summary>
internal sealed record Resolved(ResolvedDestination Destination, string Masked, ContactPointUse Use);

/// <summary>
/// Classifies a destination against an account: the borrower's own contact point, a related or unrelated party's,
/// or unknown (registered nowhere on the account: for example a number from the borrower's address book).
/// Raw values are normalised and hashed with the same key as registered contact points, then forgotten.
/// </summary>
internal sealed class DestinationResolver(ContactHasher hasher)
{
    public Resolved Resolve(V1.Destination? destination, Channel channel, Account account, string field)
    {
        if (destination is null || destination.TargetCase == V1.Destination.TargetOneofCase.None)
        {
            throw RpcErrors.InvalidArgument(field, "is required: a contact_point_id or a phone number, e-mail address, messaging handle or postal address");
        }

        if (destination.TargetCase == V1.Destination.TargetOneofCase.ContactPointId)
        {
            var (point, party) = Find(account, destination.ContactPointId, static (c, id) => c.ContactPointId == id);
            if (point is null)
            {
                // Not echoed: callers sometimes put a phone number here.
                throw RpcErrors.InvalidArgument($"{field}.contact_point_id", Mapping.Validate.IdProblem(destination.ContactPointId)
                    ?? $"is not a contact point of account '{account.AccountId}' (a number or address goes in phone_number, email_address, ...)");
            }

            CheckChannel(channel, point.Kind, field);
            return Classified(point.ValueHash, point.Masked, point.TimeZones, point, party);
        }

        var (kind, raw, subField) = destination.TargetCase switch
        {
            V1.Destination.TargetOneofCase.PhoneNumber => (ContactPointKind.Phone, destination.PhoneNumber, "phone_number"),
            V1.Destination.TargetOneofCase.EmailAddress => (ContactPointKind.Email, destination.EmailAddress, "email_address"),
            V1.Destination.TargetOneofCase.InstantMessageHandle => (ContactPointKind.InstantMessage, destination.InstantMessageHandle, "instant_message_handle"),
            _ => (ContactPointKind.PostalAddress, destination.PostalAddress, "postal_address"),
        };
        var region = string.IsNullOrEmpty(destination.RegionHint) ? account.Location.CountryCode : destination.RegionHint;
        var normalized = ContactNormalizer.Normalize(kind, raw, region);
        if (!normalized.Ok)
        {
            throw RpcErrors.InvalidArgument($"{field}.{subField}", normalized.Error!);
        }

        CheckChannel(channel, kind, field);
        var hash = hasher.Hash(normalized.Value!);
        var (registered, owner) = Find(account, hash, static (c, h) => c.ValueHash == h);
        return registered is null
            ? new Resolved(new ResolvedDestination(DestinationClass.Unknown, hash, null, null, normalized.Value!.TimeZones), normalized.Value!.Masked, ContactPointUse.Unspecified)
            : Classified(registered.ValueHash, registered.Masked, normalized.Value!.TimeZones, registered, owner);
    }

    /// <summary>A destination already hashed (a recorded decision), classified against the account as it is now.</summary>
    public static Resolved ByHash(Account account, string hash)
    {
        var (point, party) = Find(account, hash, static (c, h) => c.ValueHash == h);
        return point is null
            ? new Resolved(new ResolvedDestination(DestinationClass.Unknown, hash, null, null, []), "", ContactPointUse.Unspecified)
            : Classified(point.ValueHash, point.Masked, point.TimeZones, point, party);
    }

    /// <remarks>The hash is the contact point's own string (equal to the one computed): the attempts a cache keeps then
    /// share it with the cached account instead of holding a copy each.</remarks>
    private static Resolved Classified(string hash, string masked, IReadOnlyList<string> zones, ContactPoint point, Party? party)
    {
        var @class = party is null ? DestinationClass.Own : party.Related ? DestinationClass.RelatedParty : DestinationClass.UnrelatedParty;
        return new Resolved(new ResolvedDestination(@class, hash, point, party, zones), masked, point.Use);
    }

    /// <summary>The first contact point that matches, borrower's first; plain loops, as this runs for every contact.</summary>
    private static (ContactPoint? Point, Party? Party) Find(Account account, string value, Func<ContactPoint, string, bool> match)
    {
        // Indexed loops: a foreach over the read-only list interfaces would allocate an enumerator each.
        for (var i = 0; i < account.ContactPoints.Count; i++)
        {
            if (match(account.ContactPoints[i], value))
            {
                return (account.ContactPoints[i], null);
            }
        }

        for (var p = 0; p < account.Parties.Count; p++)
        {
            var party = account.Parties[p];
            for (var i = 0; i < party.ContactPoints.Count; i++)
            {
                if (match(party.ContactPoints[i], value))
                {
                    return (party.ContactPoints[i], party);
                }
            }
        }

        return (null, null);
    }

    private static void CheckChannel(Channel channel, ContactPointKind kind, string field)
    {
        var fits = channel switch
        {
            Channel.VoiceCall or Channel.Sms => kind == ContactPointKind.Phone,
            Channel.Email => kind == ContactPointKind.Email,
            Channel.InstantMessage => kind is ContactPointKind.InstantMessage or ContactPointKind.Phone,
            Channel.Visit or Channel.Letter => kind == ContactPointKind.PostalAddress,
            _ => true,
        };
        if (!fits)
        {
            throw RpcErrors.InvalidArgument(field, $"a {kind} destination cannot be reached by {channel}");
        }
    }
}
