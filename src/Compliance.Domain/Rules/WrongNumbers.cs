using Compliance.Domain.Registry;

namespace Compliance.Domain.Rules;

/// <summary>
/// Numbers and addresses the lender recorded as not the consumer's (a wrong number, or one reassigned to someone else:
/// <see cref="FlagType.WrongNumber"/> flags, on the account or on any of the borrower's accounts). From each flag's
/// effective time, calls to that number were never calls to the consumer (commentary 14(b)(2)(i)-3): they count toward
/// no limit of the consumer and are contacts with a third party, a person registered nowhere, for every rule that counts
/// those (the address-book limit, the third-party rules). The stored records keep what was known when they were made;
/// the rules read them through this.
/// </summary>
public sealed class WrongNumbers
{
    private static readonly WrongNumbers None = new([]);

    private readonly (string Hash, Flag Flag)[] _marks;

    private WrongNumbers((string Hash, Flag Flag)[] marks) => _marks = marks;

    /// <summary>Whether any number is marked.</summary>
    public bool Any => _marks.Length > 0;

    /// <summary>The marks of the account and of the borrower's other accounts (when loaded).</summary>
    public static WrongNumbers For(Account account, IReadOnlyList<Account>? borrowerAccounts)
    {
        List<(string, Flag)>? marks = null;
        Collect(account, ref marks);
        if (borrowerAccounts is not null)
        {
            foreach (var other in borrowerAccounts)
            {
                if (!string.Equals(other.AccountId, account.AccountId, StringComparison.Ordinal))
                {
                    Collect(other, ref marks);
                }
            }
        }

        return marks is null ? None : new WrongNumbers([.. marks]);
    }

    /// <summary>Whether the destination hash was not the consumer's at the instant.</summary>
    public bool Marked(string destinationHash, DateTimeOffset at)
    {
        foreach (var (hash, flag) in _marks)
        {
            if (flag.InForceAt(at) && string.Equals(hash, destinationHash, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The attempt as the rules see it: to a stranger, where its number was not the consumer's then.</summary>
    public Attempt Apply(in Attempt attempt) =>
        attempt.DestinationClass != DestinationClass.Unknown && Marked(attempt.DestinationHash, attempt.At)
            ? attempt with { DestinationClass = DestinationClass.Unknown, PartyId = "" }
            : attempt;

    /// <summary>The history as the rules see it (the same list when nothing in it is marked).</summary>
    public IReadOnlyList<Attempt> Apply(IReadOnlyList<Attempt> history)
    {
        if (_marks.Length == 0)
        {
            return history;
        }

        List<Attempt>? changed = null;
        for (var i = 0; i < history.Count; i++)
        {
            var seen = Apply(history[i]);
            if (changed is null && seen.DestinationClass != history[i].DestinationClass)
            {
                changed = new List<Attempt>(history.Count);
                for (var j = 0; j < i; j++)
                {
                    changed.Add(history[j]);
                }
            }

            changed?.Add(seen);
        }

        return changed is null ? history : history is ITimeOrderedAttempts ? new TimeOrderedList(changed) : changed;
    }

    /// <summary>The destination as the rules see it at the instant.</summary>
    public ResolvedDestination Apply(ResolvedDestination destination, DateTimeOffset at) =>
        destination.Class != DestinationClass.Unknown && Marked(destination.DestinationHash, at)
            ? destination with { Class = DestinationClass.Unknown, ContactPoint = null, Party = null }
            : destination;

    private static void Collect(Account account, ref List<(string, Flag)>? marks)
    {
        foreach (var flag in account.Flags)
        {
            if (flag.Type != FlagType.WrongNumber || flag.ContactPointId.Length == 0)
            {
                continue;
            }

            foreach (var (point, _) in account.AllContactPoints())
            {
                if (string.Equals(point.ContactPointId, flag.ContactPointId, StringComparison.Ordinal))
                {
                    (marks ??= []).Add((point.ValueHash, flag));
                }
            }
        }
    }
}
