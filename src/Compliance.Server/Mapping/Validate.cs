using Compliance.Server.Infrastructure;

namespace Compliance.Server.Mapping;

/// <summary>Field checks that add a <see cref="FieldError"/> naming the field instead of throwing at the first.</summary>
internal static class Validate
{
    public const int MaxIdLength = 128;

    /// <summary>A caller-chosen id: 1 to 128 characters of letters, digits and ._:@/- .</summary>
    public static void Id(List<FieldError> errors, string field, string value, bool required = true)
    {
        if (IdProblem(value, required) is { } problem)
        {
            errors.Add(new FieldError(field, problem));
        }
    }

    /// <summary>What is wrong with an id, or null when nothing is (allocation-free for the event stream).</summary>
    public static string? IdProblem(string value, bool required = true) => value switch
    {
        "" => required ? "is required" : null,
        { Length: > MaxIdLength } => IdRule,
        _ => value.AsSpan().ContainsAnyExcept(IdCharacters) ? IdRule : null,
    };

    private const string IdRule = "must be 1 to 128 characters of letters, digits and . _ : @ / -";

    /// <summary>Throws INVALID_ARGUMENT unless the period ends after it starts.</summary>
    public static void Period(DateTimeOffset from, DateTimeOffset to)
    {
        if (to <= from)
        {
            throw RpcErrors.InvalidArgument("period_end", "must be after period_start");
        }
    }

    /// <summary>Throws INVALID_ARGUMENT at once when a required id is missing or malformed.</summary>
    public static void RequireId(string field, string value)
    {
        var errors = new List<FieldError>();
        Id(errors, field, value);
        errors.ThrowIfAny();
    }

    /// <summary>An incoming time, or null; adds an error naming the field when it is malformed or out of range.</summary>
    public static DateTimeOffset? Time(List<FieldError> errors, string field, Google.Protobuf.WellKnownTypes.Timestamp? value)
    {
        if (!Proto.IsValid(value))
        {
            errors.Add(new FieldError(field, Proto.TimeRule));
            return null;
        }

        return Proto.ToInstant(value);
    }

    public static void Text(List<FieldError> errors, string field, string value, int maxLength)
    {
        if (value.Length > maxLength)
        {
            errors.Add(new FieldError(field, $"must be at most {maxLength} characters"));
        }
    }

    /// <summary>Adds an error naming the field and the limit when a list is longer than it.</summary>
    public static void Count(List<FieldError> errors, string field, int count, int max)
    {
        if (count > max)
        {
            errors.Add(new FieldError(field, $"at most {max} entries, not {count}"));
        }
    }

    public static void Defined<TEnum>(List<FieldError> errors, string field, TEnum value, bool required = true) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            errors.Add(new FieldError(field, $"unknown value {Convert.ToInt32(value)}"));
        }
        else if (required && Convert.ToInt32(value) == 0)
        {
            errors.Add(new FieldError(field, "is required"));
        }
    }

    private static readonly System.Buffers.SearchValues<char> IdCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/-");
}
