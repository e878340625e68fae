using System.Security.Cryptography;
using System.Text;
using Compliance.Domain.Contacts;
using Compliance.Domain.Registry;

namespace Compliance.Domain.Tests.Contacts;

/// <summary>Numbers and addresses become one canonical form, a hash and a mask that does not give the number away.</summary>
public sealed class ContactNormalizerTests
{
    [Theory]
    [InlineData("+86 138 0013 8000", "", "+8613800138000", "+86 138******00", "CN")]
    [InlineData("138-0013-8000", "CN", "+8613800138000", "+86 138******00", "CN")]
    [InlineData("(212) 555-0134", "US", "+12125550134", "+1 212*****34", "US")]
    [InlineData("+1 212 555 0134", "CN", "+12125550134", "+1 212*****34", "US")]
    [InlineData("+44 20 7946 0018", "", "+442079460018", "+44 207*****18", "GB")]
    public void Phone_IsNormalisedToE164_AndMaskedHidingAtLeastFiveDigits(string raw, string region, string e164, string masked, string numberRegion)
    {
        var result = ContactNormalizer.Normalize(ContactPointKind.Phone, raw, region);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(e164, result.Value!.Canonical);
        Assert.Equal(masked, result.Value.Masked);
        Assert.Equal(numberRegion, result.Value.Region);
        Assert.True(result.Value.Masked.Count(c => c == '*') >= 5);
    }

    [Theory]
    [InlineData("12345", "CN", "not a valid phone number")]
    [InlineData("212 555 0134", "", "no country code")]
    [InlineData("", "US", "is required")]
    [InlineData("call me maybe", "US", "not a phone number")]
    public void InvalidPhone_IsRefused_WithAReason_ThatDoesNotRepeatTheNumber(string raw, string region, string reason)
    {
        var result = ContactNormalizer.Normalize(ContactPointKind.Phone, raw, region);

        Assert.False(result.Ok);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("5550134", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void UsPhone_CarriesItsPossibleTimeZones()
    {
        var result = ContactNormalizer.Normalize(ContactPointKind.Phone, "+1 212 555 0134", "");

        Assert.Contains("America/New_York", result.Value!.TimeZones);
    }

    [Theory]
    [InlineData("Jane.Roe@Example.com", "jane.roe@example.com", "j***@e***.com")]
    [InlineData("x@mail.co.uk", "x@mail.co.uk", "x***@m***.uk")]
    public void Email_IsLowerCased_AndMaskedOnBothSidesOfTheAt(string raw, string canonical, string masked)
    {
        var result = ContactNormalizer.Normalize(ContactPointKind.Email, raw, "");

        Assert.Equal(canonical, result.Value!.Canonical);
        Assert.Equal(masked, result.Value.Masked);
    }

    [Fact]
    public void SameNumberWrittenTwoWays_HashesTheSame_AndAnotherKeyHashesDifferently()
    {
        var hasher = new ContactHasher(Enumerable.Repeat((byte)7, 32).ToArray());
        var other = new ContactHasher(Enumerable.Repeat((byte)8, 32).ToArray());
        var a = ContactNormalizer.Normalize(ContactPointKind.Phone, "+86 138 0013 8000", "").Value!;
        var b = ContactNormalizer.Normalize(ContactPointKind.Phone, "13800138000", "CN").Value!;

        Assert.Equal(hasher.Hash(a), hasher.Hash(b));
        Assert.NotEqual(hasher.Hash(a), other.Hash(a));
        Assert.DoesNotContain("13800138000", hasher.Hash(a), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ContactPointKind.Phone, "+8613800138000")]
    [InlineData(ContactPointKind.Email, "li.wei@example.com")]
    [InlineData(ContactPointKind.Email, "")]
    public void Hash_IsTheFirstHalfOfTheHmacOfKindAndValue_OnEveryCall_AndOnEveryThread(ContactPointKind kind, string canonical)
    {
        // Stored hashes must not change: the hasher reuses one HMAC per thread, so each call must start from the key.
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var hasher = new ContactHasher(key);
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{(int)kind}:{canonical}"))[..16]);
        var longValue = canonical + new string('x', 400);
        var expectedLong = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{(int)kind}:{longValue}"))[..16]);

        var onThreads = Enumerable.Range(0, 8).AsParallel().Select(_ => (hasher.Hash(kind, canonical), hasher.Hash(kind, longValue))).ToList();

        Assert.Equal(expected, hasher.Hash(kind, canonical));
        Assert.Equal(expected, hasher.Hash(kind, canonical));
        Assert.Equal(expectedLong, hasher.Hash(kind, longValue));
        Assert.All(onThreads, pair => Assert.Equal((expected, expectedLong), pair));
    }
}
