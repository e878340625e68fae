using System.Text;
using Compliance.Api.V1;

namespace Compliance.Server.Infrastructure;

/// <summary>Opaque page tokens over keyset paging.</summary>
internal static class Paging
{
    public const int DefaultSize = 100;
    public const int MaxSize = 1000;

    /// <summary>A request's nested <c>page</c> message.</summary>
    public static (int Limit, string? After) Read(PageRequest? page) => Read(page?.PageSize ?? 0, page?.PageToken, "page.");

    /// <summary>Paging fields of the request itself (<c>page_size</c>, <c>page_token</c>); <paramref name="prefix"/> names where they sit.</summary>
    public static (int Limit, string? After) Read(int size, string? token, string prefix = "")
    {
        if (size < 0)
        {
            throw RpcErrors.InvalidArgument($"{prefix}page_size", "must not be negative");
        }

        var limit = size == 0 ? DefaultSize : Math.Min(size, MaxSize);
        if (string.IsNullOrEmpty(token))
        {
            return (limit, null);
        }

        try
        {
            return (limit, Encoding.UTF8.GetString(Convert.FromBase64String(token)));
        }
        catch (FormatException)
        {
            throw RpcErrors.InvalidArgument($"{prefix}page_token", "is not a token this service issued");
        }
    }

    public static string Token(string? after) => after is null ? "" : Convert.ToBase64String(Encoding.UTF8.GetBytes(after));
}
