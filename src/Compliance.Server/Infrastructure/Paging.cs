using System.Text;
using Compliance.Api.V1;

namespace Compliance.Server.Infrastructure;

/// <summary>Opaque page tokens over keyset paging.</summary>
internal static class Paging
{
    public const int DefaultSize = 100;
    public const int MaxSize = 1000;

    public static (int Limit, string? After) Read(PageRequest? page, string field = "page")
    {
        var size = page?.PageSize ?? 0;
        if (size < 0)
        {
            throw RpcErrors.InvalidArgument($"{field}.page_size", "must not be negative");
        }

        var limit = size == 0 ? DefaultSize : Math.Min(size, MaxSize);
        if (string.IsNullOrEmpty(page?.PageToken))
        {
            return (limit, null);
        }

        try
        {
            return (limit, Encoding.UTF8.GetString(Convert.FromBase64String(page.PageToken)));
        }
        catch (FormatException)
        {
            throw RpcErrors.InvalidArgument($"{field}.page_token", "is not a token this service issued");
        }
    }

    public static string Token(string? after) => after is null ? "" : Convert.ToBase64String(Encoding.UTF8.GetBytes(after));
}
