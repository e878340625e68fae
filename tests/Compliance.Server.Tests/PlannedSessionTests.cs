using Compliance.Domain.Events;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Server.Ingest;
using Compliance.Storage;
using Microsoft.Data.Sqlite;

namespace Compliance.Server.Tests;

/// <summary>
/// The scorer's view while earlier batches are still being written: what is in flight counts as stored, writes wait
/// for the batch's own commit, and a borrower with events in flight is not read from the store before they land.
/// </summary>
public sealed class PlannedSessionTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 14, 0, 0, TimeSpan.Zero);
    private readonly StoreFolder _folder = new("compliance-planned-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StoredEvent Text(string id, string borrower = "b-1") => new("lender-a", id, EventKind.MessageSent, "acc-1", borrower, "c-1", "", "", Channel.Sms,
        ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", DestinationClass.Own, "", AttemptOutcome.Delivered, 0, T0, T0, false, 0, [], null,
        ContactPointUse.Mobile, EventCounting.Attempt);

    [Fact]
    public async Task EventsInFlight_AreDuplicates_TheirBorrowersWaitForTheCommit_AndWritesWaitForTheirOwn()
    {
        var store = await StoreAsync("c.db");
        var (inFlight, earlier) = InFlightWith(c => c.Events.Add(Text("e-1")));
        var committed = new TaskCompletionSource();

        IReadOnlyDictionary<string, StoredEvent>? existing = null;
        Task<Dictionary<string, List<AttemptRow>>>? history = null;
        var waitedForTheCommit = false;
        PlannedSession? planned = null;
        await store.RunIngestReadAsync(async reads =>
        {
            planned = new PlannedSession(reads, inFlight, () => committed.Task);
            existing = await planned.ExistingEventsAsync("lender-a", ["e-1", "e-2"]);
            await planned.AddEventsAsync([Text("e-2", "b-2")]);
            history = planned.HistoriesAsync("lender-a", ["b-1"], T0.AddDays(-1));
            await Task.Delay(50, Ct);
            waitedForTheCommit = !history.IsCompleted;
            inFlight.Remove(earlier);
            committed.SetResult();
            await history;
        }, Ct);
        var beforeReplay = await CountAsync("SELECT COUNT(*) FROM event_log");
        await store.RunIngestAsync(async session =>
        {
            foreach (var write in planned!.Plan)
            {
                await write(session);
            }
        }, Ct);

        Assert.Equal(["e-1"], existing!.Keys);
        Assert.True(waitedForTheCommit, "a borrower with events in flight is read only after they are committed");
        Assert.Equal(0, beforeReplay);
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM event_log WHERE event_id = 'e-2'"));
        Assert.Equal(["e-2"], planned!.Contribution.Events.Select(e => e.EventId));
    }

    [Fact]
    public async Task AReservationConfirmedByABatchInFlight_CannotBeConfirmedTwice()
    {
        var store = await StoreAsync("r.db");
        var (inFlight, _) = InFlightWith(c => c.Reservations.Add(("lender-a", "dec-1")));

        var confirmed = true;
        await store.RunIngestReadAsync(async reads =>
            confirmed = await new PlannedSession(reads, inFlight, () => Task.CompletedTask).ConfirmReservationAsync("lender-a", "dec-1", "call-1", T0), Ct);

        Assert.False(confirmed);
    }

    private async Task<SqliteStore> StoreAsync(string file)
    {
        var store = _folder.Keep(new SqliteStore(_folder.File(file)));
        await store.MigrateAsync(Ct);
        return store;
    }

    /// <summary>What is in flight: one earlier batch's contribution.</summary>
    private static (InFlight InFlight, Contribution Earlier) InFlightWith(Action<Contribution> fill)
    {
        var inFlight = new InFlight();
        var earlier = new Contribution();
        fill(earlier);
        inFlight.Add(earlier);
        return (inFlight, earlier);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_folder.File("c.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct));
    }

    public ValueTask DisposeAsync() => _folder.DisposeAsync();
}
