using Compliance.Api.V1;

namespace Compliance.Cli;

/// <summary>Reads one page of a list call, or every page when asked; all list calls share the page_size/page_token shape.</summary>
internal static class Pages
{
    public static async Task<(List<T> Items, string NextPageToken)> ReadAsync<T>(
        PageRequest first, bool all, Func<PageRequest, Task<(IEnumerable<T> Items, string NextPageToken)>> fetch)
    {
        var items = new List<T>();
        var page = first;
        while (true)
        {
            var (batch, next) = await fetch(page);
            items.AddRange(batch);
            if (!all || string.IsNullOrEmpty(next))
            {
                return (items, next);
            }

            page = new PageRequest { PageSize = first.PageSize, PageToken = next };
        }
    }

    /// <summary>Every page: agencies, collectors and keys are short lists, so their commands do not page.</summary>
    public static Task<(List<T> Items, string NextPageToken)> ReadAllAsync<T>(Func<PageRequest, Task<(IEnumerable<T> Items, string NextPageToken)>> fetch) =>
        ReadAsync(new PageRequest(), all: true, fetch);
}
