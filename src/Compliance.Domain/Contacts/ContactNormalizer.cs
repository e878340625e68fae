using System.Net.Mail;
using System.Text.RegularExpressions;
using Compliance.Domain.Registry;
using PhoneNumbers;

namespace Compliance.Domain.Contacts;

/// <summary>A contact value in canonical form (E.164 for phones), with what the rules need to know of it.</summary>
/// <param name="Canonical">The canonical form. Personal data: hash it, never store it.</param>
/// <param name="Masked">A display form safe to store and show.</param>
/// <param name="Region">ISO region of a phone number, empty for other kinds.</param>
/// <param name="TimeZones">IANA zones a phone number may be in (libphonenumber's mapping), empty when unknown.</param>
public sealed record NormalizedContact(ContactPointKind Kind, string Canonical, string Masked, string Region, IReadOnlyList<string> TimeZones);

/// <summary>The outcome of normalising a raw value: the value, or the reason it is not acceptable.</summary>
public readonly record struct NormalizeResult(NormalizedContact? Value, string? Error)
{
    public bool Ok => Value is not null;
    public static NormalizeResult Fail(string error) => new(null, error);
}

/// <summary>Normalises phone numbers, e-mail addresses, messaging handles and postal addresses.</summary>
public static partial class ContactNormalizer
{
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();
    private static readonly PhoneNumberToTimeZonesMapper Zones = PhoneNumberToTimeZonesMapper.GetInstance();
    private const string UnknownZone = "Etc/Unknown";

    public static NormalizeResult Normalize(ContactPointKind kind, string raw, string regionHint) => kind switch
    {
        ContactPointKind.Phone => NormalizePhone(raw, regionHint),
        ContactPointKind.Email => NormalizeEmail(raw),
        ContactPointKind.InstantMessage => NormalizeHandle(raw),
        ContactPointKind.PostalAddress => NormalizePostal(raw),
        _ => NormalizeResult.Fail("kind must be phone, email, instant message or postal address"),
    };

    /// <summary>Longest phone number accepted as typed (with spaces, dashes and an extension); E.164 itself has at most 15 digits.</summary>
    public const int MaxPhoneLength = 64;

    /// <summary>Longest e-mail address (RFC 5321's path limit).</summary>
    public const int MaxEmailLength = 320;

    public static NormalizeResult NormalizePhone(string raw, string regionHint)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return NormalizeResult.Fail("a phone number is required");
        }

        if (raw.Length > MaxPhoneLength)
        {
            return NormalizeResult.Fail($"a phone number has at most {MaxPhoneLength} characters");
        }

        PhoneNumber number;
        try
        {
            var region = string.IsNullOrWhiteSpace(regionHint) ? "ZZ" : regionHint.Trim().ToUpperInvariant();
            number = Phones.Parse(raw.Trim(), region);
        }
        catch (NumberParseException e)
        {
            return NormalizeResult.Fail(e.ErrorType == ErrorType.INVALID_COUNTRY_CODE
                ? $"'{Mask(raw)}' has no country code; write it as +<country code> or give a region hint"
                : $"'{Mask(raw)}' is not a phone number ({e.ErrorType})");
        }

        if (!Phones.IsValidNumber(number))
        {
            return NormalizeResult.Fail($"'{Mask(raw)}' is not a valid phone number");
        }

        var e164 = Phones.Format(number, PhoneNumberFormat.E164);
        var national = Phones.GetNationalSignificantNumber(number);
        var zones = Zones.GetTimeZonesForNumber(number).Where(z => z != UnknownZone).ToArray();
        var masked = $"+{number.CountryCode} {MaskDigits(national)}";
        return new NormalizeResult(new NormalizedContact(ContactPointKind.Phone, e164, masked, Phones.GetRegionCodeForNumber(number) ?? "", zones), null);
    }

    private static NormalizeResult NormalizeEmail(string raw)
    {
        var trimmed = raw?.Trim() ?? "";
        if (trimmed.Length > MaxEmailLength)
        {
            return NormalizeResult.Fail($"an e-mail address has at most {MaxEmailLength} characters");
        }

        if (!MailAddress.TryCreate(trimmed, out var address) || address.Address != trimmed)
        {
            return NormalizeResult.Fail("not an e-mail address");
        }

        var canonical = address.Address.ToLowerInvariant();
        var at = canonical.IndexOf('@', StringComparison.Ordinal);
        var domain = canonical[(at + 1)..];
        var dot = domain.LastIndexOf('.');
        var masked = canonical[..Math.Min(1, at)] + "***@" + domain[..Math.Min(1, domain.Length)] + "***" + (dot > 0 ? domain[dot..] : "");
        return new NormalizeResult(new NormalizedContact(ContactPointKind.Email, canonical, masked, "", []), null);
    }

    private static NormalizeResult NormalizeHandle(string raw)
    {
        var canonical = Whitespace().Replace(raw?.Trim() ?? "", "").ToLowerInvariant();
        if (canonical.Length is 0 or > 256)
        {
            return NormalizeResult.Fail("a messaging handle of 1 to 256 characters is required");
        }

        return new NormalizeResult(new NormalizedContact(ContactPointKind.InstantMessage, canonical, MaskMiddle(canonical, 2, 0), "", []), null);
    }

    private static NormalizeResult NormalizePostal(string raw)
    {
        var canonical = Whitespace().Replace(raw?.Trim() ?? "", " ").ToUpperInvariant();
        if (canonical.Length is 0 or > 512)
        {
            return NormalizeResult.Fail("a postal address of 1 to 512 characters is required");
        }

        var shown = Math.Min(6, canonical.Length / 3);
        return new NormalizeResult(new NormalizedContact(ContactPointKind.PostalAddress, canonical, canonical[..shown] + "***", "", []), null);
    }

    /// <summary>
    /// Hides at least five digits of a national number (more in longer ones), keeping up to three leading digits (the
    /// area or carrier code) and two trailing ones: enough for a person to tell numbers apart, too little to dial.
    /// </summary>
    internal static string MaskDigits(string national)
    {
        var hide = Math.Min(national.Length, Math.Max(5, national.Length - 5));
        var keepEnd = Math.Min(2, national.Length - hide);
        var keepStart = national.Length - hide - keepEnd;
        return national[..keepStart] + new string('*', hide) + national[(national.Length - keepEnd)..];
    }

    /// <summary>Keeps the first and last characters and stars the rest (at least two stars).</summary>
    internal static string MaskMiddle(string value, int keepStart, int keepEnd)
    {
        if (value.Length <= keepStart + keepEnd + 1)
        {
            keepStart = Math.Min(keepStart, value.Length / 3);
            keepEnd = Math.Min(keepEnd, value.Length / 3);
        }

        var stars = Math.Max(2, value.Length - keepStart - keepEnd);
        return value[..keepStart] + new string('*', stars) + value[(value.Length - keepEnd)..];
    }

    /// <summary>A masked echo of unparseable input, so error messages do not repeat personal data.</summary>
    private static string Mask(string raw)
    {
        var digits = raw.Trim();
        return digits.Length <= 4 ? new string('*', digits.Length) : MaskMiddle(digits, 2, 2);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
