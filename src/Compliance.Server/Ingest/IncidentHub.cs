using System.Collections.Concurrent;
using System.Threading.Channels;
using Compliance.Storage;

namespace Compliance.Server.Ingest;

/// <summary>
/// Wakes this replica's Alerts.Watch calls of a lender when an incident of that lender has been stored here, so it
/// reaches them at once. The incidents themselves are read from the store by sequence (every replica's, in order), so
/// a wake-up carries nothing and a watcher that has not taken the last one yet needs no second.
/// </summary>
internal sealed class IncidentHub(Telemetry.ComplianceMetrics metrics)
{
    private readonly ConcurrentDictionary<Guid, (string LenderId, Channel<bool> Wake)> _watchers = new();

    public (Guid Id, ChannelReader<bool> Wake) Subscribe(string lenderId)
    {
        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        var id = Guid.NewGuid();
        _watchers[id] = (lenderId, wake);
        return (id, wake.Reader);
    }

    public void Unsubscribe(Guid id) => _watchers.TryRemove(id, out _);

    /// <summary>An incident was committed through this replica.</summary>
    public void Publish(Incident incident)
    {
        metrics.Raised(incident);
        foreach (var (_, watcher) in _watchers)
        {
            if (watcher.LenderId == incident.LenderId)
            {
                watcher.Wake.Writer.TryWrite(true);
            }
        }
    }
}
