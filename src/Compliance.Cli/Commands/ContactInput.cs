using Compliance.Api.V1;

namespace Compliance.Cli.Commands;

/// <summary>Reads the compact forms people type for contact points and parties ("+14155550100:mobile", "guarantor:Bob:+1...").</summary>
internal static class ContactInput
{
    /// <summary>"number[:use]". Phone numbers never contain ':', so the last one separates the use.</summary>
    public static ContactPoint Phone(string text)
    {
        var separator = text.LastIndexOf(':');
        var use = ContactPointUse.Unspecified;
        var number = text;
        if (separator >= 0)
        {
            var word = text[(separator + 1)..];
            if (!Words.ContactUses.TryParse(word, out use))
            {
                throw new UsageException($"--phone '{text}': the use '{word}' is not one of {Words.ContactUses.List}.");
            }

            number = text[..separator];
        }

        return new ContactPoint { Kind = ContactPointKind.Phone, Use = use, Value = number.Trim() };
    }

    public static ContactPoint Email(string text) => new() { Kind = ContactPointKind.Email, Value = text.Trim() };

    /// <summary>"role:name[:phone[:use]]".</summary>
    public static Party Party(string text)
    {
        var parts = text.Split(':', 3);
        if (parts.Length < 2 || parts[1].Trim().Length == 0)
        {
            throw new UsageException($"--party '{text}' must be role:name[:phone], for example \"guarantor:Bob Lee:+14155550111\".");
        }

        if (!Words.PartyRoles.TryParse(parts[0].Trim(), out var role))
        {
            throw new UsageException($"--party '{text}': the role '{parts[0]}' is not one of {Words.PartyRoles.List}.");
        }

        var party = new Party { Role = role, DisplayName = parts[1].Trim() };
        if (parts.Length == 3 && parts[2].Trim().Length > 0)
        {
            party.ContactPoints.Add(Phone(parts[2]));
        }

        return party;
    }

    /// <summary>The destination of a contact: a registered contact point by id, or a raw phone number or e-mail address.</summary>
    public static Destination Destination(string? contactPointId, string? phone, string? email) =>
        (contactPointId, phone, email) switch
        {
            ({ Length: > 0 } id, null, null) => new Destination { ContactPointId = id.Trim() },
            (null, { Length: > 0 } number, null) => new Destination { PhoneNumber = number.Trim() },
            (null, null, { Length: > 0 } address) => new Destination { EmailAddress = address.Trim() },
            _ => throw new UsageException("Give exactly one destination: --contact-point, --phone or --email."),
        };
}
