using Compliance.Domain.Registry;

namespace Compliance.Domain.Policies;

/// <summary>A date on which the lender allows no contact (public holidays, own policy) in the listed places (empty: everywhere).</summary>
public sealed record BlockedDate(DateOnly Date, IReadOnlyList<string> Regions, string Reason)
{
    public bool AppliesTo(Location location)
    {
        if (Regions.Count == 0)
        {
            return true;
        }

        foreach (var region in Regions)
        {
            if (string.Equals(region, location.CountryCode, StringComparison.OrdinalIgnoreCase)
                || string.Equals(region, location.Region, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
