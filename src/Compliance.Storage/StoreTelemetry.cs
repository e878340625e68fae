using System.Diagnostics;

namespace Compliance.Storage;

/// <summary>
/// Traces of the store's commands and transactions (source <c>Compliance.Storage</c>). With no listener, as when no
/// trace exporter is configured, starting an activity returns null and costs a field read.
/// </summary>
public static class StoreTelemetry
{
    public const string SourceName = "Compliance.Storage";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>A span for one command, named by its first keyword (never its parameters: they hold hashed numbers and ids).</summary>
    internal static Activity? Command(string sql)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("db.command", ActivityKind.Client);
        if (activity is not null)
        {
            var text = sql.AsSpan().TrimStart();
            var end = text.IndexOfAny(' ', '\n', '\r');
            activity.SetTag("db.operation.name", (end < 0 ? text : text[..end]).ToString().ToUpperInvariant());
        }

        return activity;
    }

    /// <summary>A span for a store operation that runs several commands (a decision, a group commit).</summary>
    internal static Activity? Operation(string name) => Source.HasListeners() ? Source.StartActivity(name, ActivityKind.Internal) : null;
}
