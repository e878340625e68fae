using System.Collections.Concurrent;
using System.Threading.Channels;
using Compliance.Storage;

namespace Compliance.Server.Ingest;

/// <summary>
/// Live incidents for Alerts.Watch: every watcher of a lender gets each incident stored after it subscribed.
/// A watcher too slow to keep up loses the oldest undelivered incidents, never the stream (they stay in the store).
/// </summary>
internal sealed class IncidentHub(Telemetry.ComplianceMetrics metrics)
{
    private const int WatcherBuffer = 1000;
    private readonly ConcurrentDictionary<Guid, (string LenderId, Channel<Incident> Channel)> _watchers = new();

    public (Guid Id, ChannelReader<Incident> Reader) Subscribe(string lenderId)
    {
        var channel = Channel.CreateBounded<Incident>(new BoundedChannelOptions(WatcherBuffer) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = Guid.NewGuid();
        _watchers[id] = (lenderId, channel);
        return (id, channel.Reader);
    }

    public void Unsubscribe(Guid id) => _watchers.TryRemove(id, out _);

    public void Publish(Incident incident)
    {
        metrics.Raised(incident);
        foreach (var (_, watcher) in _watchers)
        {
            if (watcher.LenderId == incident.LenderId)
            {
                watcher.Channel.Writer.TryWrite(incident);
            }
        }
    }
}
