using System.Text.RegularExpressions;
using Compliance.Domain.Contacts;
using Compliance.Server.Infrastructure;
using Model = Compliance.Domain.Registry;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Mapping;

/// <summary>Maps registry messages to domain records and back, validating as it goes.</summary>
internal static partial class RegistryMapping
{
    /// <summary>Validates and converts an upserted account; raw contact values are normalised and hashed here and go no further.</summary>
    public static Model.Account ToDomain(V1.Account a, string lenderId, ContactHasher hasher, DateTimeOffset now)
    {
        var errors = new List<FieldError>();
        Validate.Id(errors, "account.account_id", a.AccountId);
        Validate.Id(errors, "account.borrower_id", a.BorrowerId, required: false);
        Validate.Text(errors, "account.borrower_name", a.BorrowerName, 256);
        var location = ToDomain(a.Location ?? new V1.Location(), errors);

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var contactPoints = a.ContactPoints
            .Select((c, i) => ToDomain(c, $"account.contact_points[{i}]", location.CountryCode, hasher, ids, errors))
            .ToList();
        var partyIds = new HashSet<string>(StringComparer.Ordinal);
        var parties = a.Parties.Select((p, i) =>
        {
            var field = $"account.parties[{i}]";
            var partyId = string.IsNullOrEmpty(p.PartyId) ? $"party-{i + 1}" : p.PartyId;
            Validate.Id(errors, $"{field}.party_id", partyId);
            if (!partyIds.Add(partyId))
            {
                errors.Add(new FieldError($"{field}.party_id", $"'{partyId}' is used twice"));
            }

            Validate.Defined(errors, $"{field}.role", p.Role);
            Validate.Text(errors, $"{field}.display_name", p.DisplayName, 256);
            var points = p.ContactPoints
                .Select((c, j) => ToDomain(c, $"{field}.contact_points[{j}]", location.CountryCode, hasher, ids, errors))
                .ToList();
            return new Model.Party(partyId, (Model.PartyRole)p.Role, p.DisplayName, points);
        }).ToList();

        for (var i = 0; i < a.Profiles.Count; i++)
        {
            if (!ProfilePattern().IsMatch(a.Profiles[i]))
            {
                errors.Add(new FieldError($"account.profiles[{i}]", "must be a profile id such as 'US-REGF' or 'CN'"));
            }
        }

        var times = a.InconvenientTimes.Select((t, i) => ToDomain(t, $"account.inconvenient_times[{i}]", errors)).ToList();
        errors.ThrowIfAny();

        return new Model.Account(lenderId, a.AccountId, string.IsNullOrEmpty(a.BorrowerId) ? a.AccountId : a.BorrowerId, a.BorrowerName,
            location, contactPoints, parties, [], a.Profiles.ToList(), times, now, now, 0);
    }

    private static Model.Location ToDomain(V1.Location l, List<FieldError> errors)
    {
        var country = l.CountryCode.Trim().ToUpperInvariant();
        var region = l.Region.Trim().ToUpperInvariant();
        if (country.Length > 0 && !CountryPattern().IsMatch(country))
        {
            errors.Add(new FieldError("account.location.country_code", "must be an ISO 3166-1 alpha-2 code such as 'US' or 'CN'"));
        }

        if (region.Length > 0)
        {
            if (!RegionPattern().IsMatch(region))
            {
                errors.Add(new FieldError("account.location.region", "must be an ISO 3166-2 code such as 'US-MA' or 'CN-GD'"));
            }
            else if (country.Length == 0)
            {
                country = region[..2];
            }
            else if (!region.StartsWith(country + "-", StringComparison.Ordinal))
            {
                errors.Add(new FieldError("account.location.region", $"'{region}' is not in country '{country}'"));
            }
        }

        var zone = l.TimeZone.Trim();
        if (zone.Length > 0 && !TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
        {
            errors.Add(new FieldError("account.location.time_zone", $"'{zone}' is not an IANA time zone"));
        }

        Validate.Text(errors, "account.location.postal_code", l.PostalCode, 32);
        return new Model.Location(country, region, l.PostalCode.Trim(), zone, l.TimeZoneConfirmed && zone.Length > 0);
    }

    private static Model.ContactPoint ToDomain(V1.ContactPoint c, string field, string defaultRegion, ContactHasher hasher, HashSet<string> ids, List<FieldError> errors)
    {
        var id = string.IsNullOrEmpty(c.ContactPointId) ? $"cp-{ids.Count + 1}" : c.ContactPointId;
        Validate.Id(errors, $"{field}.contact_point_id", id);
        if (!ids.Add(id))
        {
            errors.Add(new FieldError($"{field}.contact_point_id", $"'{id}' is used twice in the account"));
        }

        Validate.Defined(errors, $"{field}.kind", c.Kind);
        Validate.Defined(errors, $"{field}.use", c.Use, required: false);
        if (c.Kind == V1.ContactPointKind.Unspecified || !Enum.IsDefined(c.Kind))
        {
            return new Model.ContactPoint(id, Model.ContactPointKind.Unspecified, Model.ContactPointUse.Unspecified, "", "", "", c.Invalid, []);
        }

        var normalized = ContactNormalizer.Normalize((Model.ContactPointKind)c.Kind, c.Value, string.IsNullOrEmpty(c.RegionHint) ? defaultRegion : c.RegionHint);
        if (!normalized.Ok)
        {
            errors.Add(new FieldError($"{field}.value", normalized.Error!));
            return new Model.ContactPoint(id, (Model.ContactPointKind)c.Kind, (Model.ContactPointUse)c.Use, "", "", "", c.Invalid, []);
        }

        var n = normalized.Value!;
        return new Model.ContactPoint(id, n.Kind, (Model.ContactPointUse)c.Use, hasher.Hash(n), n.Masked, n.Region, c.Invalid, n.TimeZones);
    }

    private static Model.LocalTimeRange ToDomain(V1.LocalTimeRange t, string field, List<FieldError> errors)
    {
        if (t.StartMinute is < 0 or > 1440 || t.EndMinute is < 0 or > 1440 || t.StartMinute == t.EndMinute)
        {
            errors.Add(new FieldError(field, "start_minute and end_minute must differ and lie in 0..1440 (a start after the end spans midnight)"));
        }

        if (t.Weekdays.Any(d => d is < 1 or > 7))
        {
            errors.Add(new FieldError($"{field}.weekdays", "weekdays are 1 (Monday) to 7 (Sunday)"));
        }

        return new Model.LocalTimeRange(t.StartMinute, t.EndMinute, t.Weekdays.ToList());
    }

    public static Model.Flag ToDomain(V1.Flag f, Model.Account account, string setBy, DateTimeOffset now)
    {
        var errors = new List<FieldError>();
        Validate.Defined(errors, "flag.type", f.Type);
        Validate.Defined(errors, "flag.channel", f.Channel, required: f.Type == V1.FlagType.MediumOptOut);
        var from = Proto.Time(f.EffectiveFrom) ?? now;
        var expires = Proto.Time(f.ExpiresAt);
        if (expires <= from)
        {
            errors.Add(new FieldError("flag.expires_at", "must be after effective_from"));
        }

        var partyScoped = f.Type is V1.FlagType.ThirdPartyRefused or V1.FlagType.ThirdPartyConsent or V1.FlagType.LocationAnswerIncomplete;
        if (partyScoped && string.IsNullOrEmpty(f.PartyId))
        {
            errors.Add(new FieldError("flag.party_id", $"is required for {f.Type} flags"));
        }

        if (f.PartyId.Length > 0 && account.Parties.All(p => p.PartyId != f.PartyId))
        {
            errors.Add(new FieldError("flag.party_id", $"'{f.PartyId}' is not a party of account '{account.AccountId}'"));
        }

        if (f.ContactPointId.Length > 0 && !account.AllContactPoints().Any(c => c.Point.ContactPointId == f.ContactPointId))
        {
            errors.Add(new FieldError("flag.contact_point_id", $"'{f.ContactPointId}' is not a contact point of account '{account.AccountId}'"));
        }

        if (f.Type == V1.FlagType.WrongNumber && string.IsNullOrEmpty(f.ContactPointId))
        {
            errors.Add(new FieldError("flag.contact_point_id", "is required for FLAG_TYPE_WRONG_NUMBER flags: the number that is not the consumer's"));
        }

        var windowStart = Proto.Time(f.ConsentWindowStart);
        if (windowStart is not null && f.Type != V1.FlagType.ConsentToContact)
        {
            errors.Add(new FieldError("flag.consent_window_start", "is only for FLAG_TYPE_CONSENT_TO_CONTACT flags"));
        }
        else if (windowStart < from)
        {
            errors.Add(new FieldError("flag.consent_window_start", "must not be before effective_from (when consent was given)"));
        }
        else if (windowStart >= expires)
        {
            errors.Add(new FieldError("flag.consent_window_start", "must be before expires_at (the end of the consented window)"));
        }

        Validate.Defined(errors, "flag.wrong_number_source", f.WrongNumberSource, required: false);
        Validate.Defined(errors, "flag.validation_delivery", f.ValidationDelivery, required: false);
        if (f.WrongNumberSource != V1.WrongNumberSource.Unspecified && f.Type != V1.FlagType.WrongNumber)
        {
            errors.Add(new FieldError("flag.wrong_number_source", "is only for FLAG_TYPE_WRONG_NUMBER flags"));
        }

        if (f.ValidationDelivery != V1.ValidationDelivery.Unspecified && f.Type != V1.FlagType.ValidationNoticeSent)
        {
            errors.Add(new FieldError("flag.validation_delivery", "is only for FLAG_TYPE_VALIDATION_NOTICE_SENT flags"));
        }

        Validate.Text(errors, "flag.note", f.Note, 2000);
        errors.ThrowIfAny();
        var source = f.Type == V1.FlagType.WrongNumber ? (int)f.WrongNumberSource : (int)f.ValidationDelivery;
        return new Model.Flag($"flg_{Guid.NewGuid():N}"[..16], (Model.FlagType)f.Type, from, expires, (Model.Channel)f.Channel,
            f.PartyId, f.ContactPointId, f.Note, setBy, null, windowStart, source);
    }

    // ---- domain to proto ----

    public static V1.Account ToProto(Model.Account a)
    {
        var account = new V1.Account
        {
            AccountId = a.AccountId,
            BorrowerId = a.BorrowerId,
            BorrowerName = a.BorrowerName,
            Location = new V1.Location
            {
                CountryCode = a.Location.CountryCode,
                Region = a.Location.Region,
                PostalCode = a.Location.PostalCode,
                TimeZone = a.Location.TimeZone,
                TimeZoneConfirmed = a.Location.TimeZoneConfirmed,
            },
            CreatedAt = Proto.Time(a.CreatedAt),
            UpdatedAt = Proto.Time(a.UpdatedAt),
            Revision = a.Revision,
        };
        account.ContactPoints.AddRange(a.ContactPoints.Select(ToProto));
        account.Parties.AddRange(a.Parties.Select(p =>
        {
            var party = new V1.Party { PartyId = p.PartyId, Role = (V1.PartyRole)p.Role, DisplayName = p.DisplayName, Related = p.Related };
            party.ContactPoints.AddRange(p.ContactPoints.Select(ToProto));
            return party;
        }));
        account.Flags.AddRange(a.Flags.Select(ToProto));
        account.Profiles.AddRange(a.Profiles);
        account.InconvenientTimes.AddRange(a.InconvenientTimes.Select(t =>
        {
            var range = new V1.LocalTimeRange { StartMinute = t.StartMinute, EndMinute = t.EndMinute };
            range.Weekdays.AddRange(t.Weekdays);
            return range;
        }));
        return account;
    }

    private static V1.ContactPoint ToProto(Model.ContactPoint c) => new()
    {
        ContactPointId = c.ContactPointId,
        Kind = (V1.ContactPointKind)c.Kind,
        Use = (V1.ContactPointUse)c.Use,
        Masked = c.Masked,
        RegionHint = c.Region,
        Invalid = c.Invalid,
    };

    public static V1.Flag ToProto(Model.Flag f) => new()
    {
        FlagId = f.FlagId,
        Type = (V1.FlagType)f.Type,
        EffectiveFrom = Proto.Time(f.EffectiveFrom),
        ExpiresAt = Proto.Time(f.ExpiresAt),
        Channel = (V1.Channel)f.Channel,
        PartyId = f.PartyId,
        ContactPointId = f.ContactPointId,
        Note = f.Note,
        SetBy = f.SetBy,
        ClearedAt = Proto.Time(f.ClearedAt),
        ConsentWindowStart = Proto.Time(f.WindowFrom),
        WrongNumberSource = f.Type == Model.FlagType.WrongNumber ? (V1.WrongNumberSource)f.Source : V1.WrongNumberSource.Unspecified,
        ValidationDelivery = f.Type == Model.FlagType.ValidationNoticeSent ? (V1.ValidationDelivery)f.Source : V1.ValidationDelivery.Unspecified,
    };

    public static V1.Agency ToProto(Model.Agency a) => new() { AgencyId = a.AgencyId, DisplayName = a.DisplayName, Active = a.Active };

    public static V1.Collector ToProto(Model.Collector c) => new()
    {
        CollectorId = c.CollectorId,
        AgencyId = c.AgencyId,
        DisplayName = c.DisplayName,
        Kind = (V1.CollectorKind)c.Kind,
        Active = c.Active,
        InactiveSince = c.InactiveSince is { } since ? Proto.Time(since) : null,
    };

    public static V1.Lender ToProto(Model.Lender l) => new()
    {
        LenderId = l.LenderId,
        DisplayName = l.DisplayName,
        CountryCode = l.CountryCode,
        CreatedAt = Proto.Time(l.CreatedAt),
    };

    public static V1.ApiKey ToProto(Model.ApiKey k) => new()
    {
        KeyId = k.KeyId,
        LenderId = k.LenderId,
        Role = (V1.Role)k.Role,
        DisplayName = k.DisplayName,
        CreatedAt = Proto.Time(k.CreatedAt),
        RevokedAt = Proto.Time(k.RevokedAt),
    };

    [GeneratedRegex("^[A-Z]{2}$")]
    private static partial Regex CountryPattern();

    [GeneratedRegex("^[A-Z]{2}-[A-Z0-9]{1,3}$")]
    private static partial Regex RegionPattern();

    [GeneratedRegex("^[A-Z]{2}(-[A-Z0-9]{1,8})*$")]
    private static partial Regex ProfilePattern();
}
